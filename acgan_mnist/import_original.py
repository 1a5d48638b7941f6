"""`python -m acgan_mnist.import_original PATH`: mnist_acgan.py's weight files (Keras 2
save_weights, params_{generator,discriminator}_epoch_NNN.hdf5) as a run directory train resumes.
"""
import os
import re

import keras

from acgan_mnist.program import build_gan, parse_options
from common import cli
from common.errors import UserError
from common.keras2_files import keras2_weights, require_keras2
from common.original_files import Importer, import_keras2_layers, import_parser, write_run
STEPS_PER_EPOCH = 600
WEIGHT_FILE = re.compile(r"params_(generator|discriminator)_epoch_(\d+)(\.\w+)$")
# Keras 2 named each layer it created <kind>_<n>; the port's classes of those kinds.
KINDS = ((keras.layers.Embedding, "embedding"), (keras.layers.Dense, "dense"),
         (keras.layers.Conv2D, "conv2d"), (keras.layers.Conv2DTranspose, "conv2d_transpose"),
         (keras.layers.BatchNormalization, "batch_normalization"))
NAMED = ("generation", "auxiliary")  # build_discriminator named its two heads


def weight_files(path):
    """(generator file, discriminator file, epoch) of PATH: one file of a pair, its partner
    found by name, or the folder holding them (the highest epoch that has both)."""
    if os.path.isdir(path):
        return newest_pair(path)
    if not os.path.isfile(path):
        raise UserError(f"{path} does not exist")
    match = WEIGHT_FILE.match(os.path.basename(path))
    if not match:
        raise UserError(f"{path} is not named like params_generator_epoch_NNN.hdf5; pass one "
                        "of mnist_acgan.py's weight files or the folder holding them")
    folder, number, suffix = os.path.dirname(path), match[2], match[3]
    pair = [os.path.join(folder, f"params_{who}_epoch_{number}{suffix}")
            for who in ("generator", "discriminator")]
    for partner in pair:
        if not os.path.isfile(partner):
            raise UserError(f"{partner} is missing: mnist_acgan.py saved both networks every "
                            "epoch, and both are needed")
    return pair[0], pair[1], int(number)


def newest_pair(folder):
    files = {"generator": {}, "discriminator": {}}
    for name in sorted(os.listdir(folder)):
        match = WEIGHT_FILE.match(name)
        if match:
            files[match[1]][int(match[2])] = os.path.join(folder, name)
    epochs = set(files["generator"]) & set(files["discriminator"])
    if not epochs:
        raise UserError(f"{folder} holds no pair of params_generator_epoch_NNN.hdf5 and "
                        "params_discriminator_epoch_NNN.hdf5 of one epoch")
    epoch = max(epochs)
    return files["generator"][epoch], files["discriminator"][epoch], epoch


def file_arrays(path):
    """{weight name: array} of a Keras 2 weight file; a nested Sequential's weights keep
    their own layers' names (sequential_2 holds dense_1/kernel:0, ...)."""
    layers = keras2_weights(path)
    require_keras2(path, "mnist_acgan.py's weight files")
    return {name: array for _, weights in layers for name, array in weights}


def port_layers(model):
    """{kind: [layers]} of a port network in build order, its Sequential flattened."""
    found = {}
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            for kind, layers in port_layers(layer).items():
                found.setdefault(kind, []).extend(layers)
        elif layer.weights:
            kind = layer.name if layer.name in NAMED else next(
                kind for cls, kind in KINDS if isinstance(layer, cls))
            found.setdefault(kind, []).append(layer)
    return found


def import_network(network, path, arrays, verbose):
    """The file's layers into `network`, by kind and creation order (import_keras2_layers)."""
    importer = Importer(path, verbose)
    import_keras2_layers(importer, network.name, arrays, port_layers(network))
    return importer


def latent_size(arrays, path):
    """The latent length of the generator file: its class embedding is (10, latent)."""
    names = [name for name in arrays if name.startswith("embedding")]
    if not names:
        raise UserError(f"{path} has no embedding_N/embeddings:0; is it mnist_acgan.py's "
                        "generator file?")
    return int(arrays[names[0]].shape[-1])


def continue_debias(generator, steps, verbose):
    """The generator's BatchNorm continues the zero-debiased averages of `steps` steps."""
    layers = port_layers(generator)["batch_normalization"]
    for layer in layers:
        layer.continue_debias(steps)
    if verbose:
        momentum = layers[0].momentum
        print(f"  BatchNorm: the moving statistics continue Keras 2.2's zero-debiased average "
              f"as at step {steps}; the imported values keep weight 1 - {momentum}^{steps} = "
              f"{1 - momentum ** steps:.4f} in it")


@cli.exits_cleanly
def main(argv=None):
    args = import_parser("acgan_mnist", __doc__).parse_args(argv)
    generator_file, discriminator_file, epoch = weight_files(args.path)
    generator_arrays = file_arrays(generator_file)
    discriminator_arrays = file_arrays(discriminator_file)
    output_dir = args.output_dir or os.path.join("runs", "acgan_mnist-imported")
    size = latent_size(generator_arrays, generator_file)
    options = parse_options(["--output-dir", output_dir, "--latent-size", str(size)])
    gan = build_gan(options)
    importers = [import_network(gan.generator, generator_file, generator_arrays, args.verbose),
                 import_network(gan.discriminator, discriminator_file, discriminator_arrays,
                                args.verbose)]
    steps = epoch * STEPS_PER_EPOCH
    continue_debias(gan.generator, steps, args.verbose)
    write_run(output_dir, options, gan, step=steps, epoch=epoch)
    for importer in importers:
        print(importer.summary(output_dir))
    print("both Adam optimizers start fresh: mnist_acgan.py never saved their state")
    flag = "" if size == parse_options([]).latent_size else f" --latent-size {size}"
    print(f"epoch {epoch} (step {steps}); continue with: python -m acgan_mnist.train "
          f"--output-dir {output_dir}{flag}")


if __name__ == "__main__":
    main()
