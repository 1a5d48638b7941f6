"""`python -m ogan_keras.import_original PATH`: o_gan_celeba_sm_4x4.py's ./train_model.weights
(Keras 2 save_weights of its train model: encoder and generator) as a run directory train resumes.
"""
import os

from keras import layers

from common import cli
from common.errors import UserError
from common.keras2_files import keras2_layer_order, keras2_weights, require_keras2
from common.original_files import (Importer, import_keras2_layers, import_parser,
                                   refuse_leftovers, require, write_run)
from ogan_keras.model import F_SIZE, ScaleShift
from ogan_keras.program import build_gan, parse_options

# The file does not say how many steps the original had trained (its Trainer overwrote it
# every 100 batches), so the BatchNorm debias state starts empty (LegacyBatchNormalization).
STEPS_UNKNOWN = 0
ENCODER_KINDS = ((layers.Conv2D, "conv2d"), (layers.BatchNormalization, "batch_normalization"),
                 (layers.Dense, "dense"))


def nested_models(path):
    """({weight name: array} of the encoder, of the generator): the train model's two nested
    models (model_1 and model_2 as Keras 2 named them), told apart by their layers."""
    models = [dict(weights) for _, weights in keras2_weights(path) if weights]
    require_keras2(path, "o_gan_celeba_sm_4x4.py's train_model.weights")
    found = {}
    for arrays in models:
        kinds = keras2_layer_order(arrays)
        role = "generator" if "conv2d_transpose" in kinds else \
            "encoder" if "conv2d" in kinds else None
        if role is None or role in found:  # a layer or model the script did not build
            refuse_leftovers(arrays, (), path)
        found[role] = arrays
    for role in ("encoder", "generator"):
        if role not in found:
            raise UserError(f"{path} holds no {role} model; is it o_gan_celeba_sm_4x4.py's "
                            "train_model.weights?")
    return found["encoder"], found["generator"]


def file_sizes(generator_arrays, path):
    """(img_dim, z_dim) from the generator's first Dense: z_dim -> 4 x 4 x (8 img_dim)."""
    first = keras2_layer_order(generator_arrays).get("dense", ["dense"])[0]
    kernel = require(generator_arrays, f"{first}/kernel:0", path)
    columns = kernel.shape[-1]
    img_dim = columns // (F_SIZE ** 2 * 8)
    if len(kernel.shape) != 2 or columns % (F_SIZE ** 2 * 8) or img_dim < 32 or \
            img_dim & (img_dim - 1):
        raise UserError(f"{path}: {first}/kernel:0 has shape {kernel.shape}, which no "
                        "O-GAN size gives (z_dim x 128 img_dim, img_dim a power of two >= 32)")
    return img_dim, kernel.shape[0]


def encoder_layers(encoder):
    """{kind: [layers]}: the encoder is one chain, so graph order is creation order."""
    return {kind: [layer for layer in encoder.layers if isinstance(layer, cls)]
            for cls, kind in ENCODER_KINDS}


def generator_layers(generator):
    """{kind: [layers]} in the order the script created them. o_gan_celeba_sm_4x4.py's
    SelfModulatedBatchNormalization made the BatchNormalization, then beta's hidden and output
    Dense, then gamma's; the port's ScaleShift inputs [h, beta, gamma] say which is which.
    The file lists them in graph order instead (both hidden layers first, then both outputs,
    the same shapes at z_dim = channels), so file order would swap beta and gamma."""
    made_by = {id(layer.output): layer for layer in generator.layers}
    norms, modulations = [], []
    for block in (layer for layer in generator.layers if isinstance(layer, ScaleShift)):
        norm, beta, gamma = (made_by[id(tensor)] for tensor in block.input)
        norms.append(norm)
        modulations += [made_by[id(beta.input)], beta, made_by[id(gamma.input)], gamma]
    first = [layer for layer in generator.layers
             if isinstance(layer, layers.Dense) and layer not in modulations]
    return {"dense": first + modulations, "batch_normalization": norms,
            "conv2d_transpose": [layer for layer in generator.layers
                                 if isinstance(layer, layers.Conv2DTranspose)]}


def continue_debias(gan, verbose):
    for network in (gan.encoder, gan.generator):
        for layer in network.layers:
            if isinstance(layer, layers.BatchNormalization):
                layer.continue_debias(STEPS_UNKNOWN)
    if verbose:
        print("  BatchNorm: the file does not hold the original's step count, so the debias "
              "state starts empty: inference uses the imported moving statistics, and the "
              "first training batch replaces them, as in Keras 2.2 after load_weights (TF's "
              "debias state was never saved)")


@cli.exits_cleanly
def main(argv=None):
    parser = import_parser("ogan_keras", __doc__)
    parser.add_argument("--img_dim", type=int, default=None,
                        help="image size (default: from the file's shapes)")
    parser.add_argument("--z_dim", type=cli.positive_int, default=None,
                        help="latent length (default: from the file's shapes)")
    args = parser.parse_args(argv)
    path = args.path
    if os.path.isdir(path):  # the folder the script ran in
        path = os.path.join(path, "train_model.weights")
    encoder_arrays, generator_arrays = nested_models(path)
    img_dim, z_dim = file_sizes(generator_arrays, path)
    output_dir = args.output_dir or os.path.join("runs", "ogan_keras-imported")
    options = parse_options(["--output-dir", output_dir, "--img_dim", str(args.img_dim or img_dim),
                             "--z_dim", str(args.z_dim or z_dim)])
    gan = build_gan(options)
    importer = Importer(path, args.verbose)
    import_keras2_layers(importer, "encoder", encoder_arrays, encoder_layers(gan.encoder))
    import_keras2_layers(importer, "generator", generator_arrays,
                         generator_layers(gan.generator))
    continue_debias(gan, args.verbose)
    write_run(output_dir, options, gan)
    print(importer.summary(output_dir))
    print("RMSprop starts fresh: o_gan_celeba_sm_4x4.py never saved its state")
    defaults = parse_options([])
    flags = "".join(f" --{name} {getattr(options, name)}" for name in ("img_dim", "z_dim")
                    if getattr(options, name) != getattr(defaults, name))
    print(f"continue with: python -m ogan_keras.train --output-dir {output_dir}{flags} "
          "--data IMAGES")


if __name__ == "__main__":
    main()
