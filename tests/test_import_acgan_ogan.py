"""acgan_mnist.import_original and ogan_keras.import_original: Keras 2.2.4 weight files, written
here in the originals' exact layouts (and, where its environment exists, by Keras 2.2.4 itself)."""
import json
import os
import subprocess

import h5py
import numpy as np
import pytest

from acgan_mnist import import_original as acgan_import
from acgan_mnist.model import build_discriminator
from acgan_mnist.program import load_run as load_acgan_run
from common import rundir
from common.keras2_files import keras2_weights
from conftest import saved_counters, write_images, write_mnist_dir
from ogan_keras import import_original as ogan_import
from ogan_keras.program import load_run

RNG = np.random.default_rng(0)


# ---- Keras 2.2.4's save_weights layout (keras/engine/saving.py, save_weights_to_hdf5_group) ----

def write_keras2(path, layers):
    """layers: [(layer name, [(weight name, array)])] in the model's layer order; a nested
    model is one layer whose weights are its layers' (trainable first, then not)."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [name.encode("utf8") for name, _ in layers]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        for name, weights in layers:
            group = f.create_group(name)
            group.attrs["weight_names"] = [w.encode("utf8") for w, _ in weights]
            for weight, array in weights:
                group.create_dataset(weight, data=array)
    return path


def dense(name, n_in, n_out, scale=0.05):
    return [(f"{name}/kernel:0", RNG.normal(0, scale, (n_in, n_out)).astype(np.float32)),
            (f"{name}/bias:0", RNG.normal(0, 0.05, n_out).astype(np.float32))]


def conv(name, size, n_in, n_out, transpose=False, scale=0.05):
    shape = (size, size, n_out, n_in) if transpose else (size, size, n_in, n_out)
    return [(f"{name}/kernel:0", RNG.normal(0, scale, shape).astype(np.float32)),
            (f"{name}/bias:0", RNG.normal(0, 0.05, n_out).astype(np.float32))]


def bn_scale(name, n):
    return [(f"{name}/gamma:0", (1 + RNG.normal(0, 0.1, n)).astype(np.float32)),
            (f"{name}/beta:0", RNG.normal(0, 0.1, n).astype(np.float32))]


def bn_statistics(name, n):
    return [(f"{name}/moving_mean:0", RNG.normal(0, 0.1, n).astype(np.float32)),
            (f"{name}/moving_variance:0", RNG.uniform(0.05, 0.5, n).astype(np.float32))]


def acgan_layouts(latent=100, d_widths=(32, 64, 128, 256)):
    """(generator, discriminator) layers as mnist_acgan.py's main saved them (D built first)."""
    cnn = (dense("dense_1", latent, 3456) + conv("conv2d_transpose_1", 5, 384, 192, True)
           + bn_scale("batch_normalization_1", 192) + conv("conv2d_transpose_2", 5, 192, 96, True)
           + bn_scale("batch_normalization_2", 96) + conv("conv2d_transpose_3", 5, 96, 1, True)
           + bn_statistics("batch_normalization_1", 192)
           + bn_statistics("batch_normalization_2", 96))
    embedding = [("embedding_1/embeddings:0", RNG.normal(0, 0.5, (10, latent)).astype(np.float32))]
    generator = [("input_3", []), ("input_2", []), ("embedding_1", embedding),
                 ("multiply_1", []), ("sequential_2", cnn)]
    convs, n_in = [], 1
    for i, width in enumerate(d_widths):
        convs += conv(f"conv2d_{i + 1}", 3, n_in, width)
        n_in = width
    discriminator = [("input_1", []), ("sequential_1", convs),
                     ("generation", dense("generation", 7 * 7 * n_in, 1, 0.05)),
                     ("auxiliary", dense("auxiliary", 7 * 7 * n_in, 10, 0.05))]
    return generator, discriminator


def ogan_layout(img_dim=32, z_dim=16, widths=None):
    """train_model's layers as o_gan_celeba_sm_4x4.py saved them: the generator (model_2)
    lists each self-modulated BN's Dense layers in graph order (beta hidden, gamma hidden,
    beta out, gamma out), every BatchNorm's statistics at the end."""
    num_layers, top = int(np.log2(img_dim)) - 3, img_dim * 8
    widths = widths or [top // 2 ** (num_layers - i) for i in range(num_layers + 1)]
    encoder, statistics, n_in = [], [], 3
    for i, width in enumerate(widths):
        encoder += conv(f"conv2d_{i + 1}", 4, n_in, width)
        if i:
            encoder += bn_scale(f"batch_normalization_{i}", width)
            statistics += bn_statistics(f"batch_normalization_{i}", width)
        n_in = width
    encoder += dense("dense_1", 16 * n_in, z_dim, 0.01) + statistics
    generator, statistics, dense_n = dense("dense_2", z_dim, 16 * top, 0.1), [], 3
    channels = [top // 2 ** i for i in range(num_layers + 1)] + [3]
    for i in range(num_layers + 1):
        bh, gh, bo, go = (f"dense_{dense_n + k}" for k in (0, 2, 1, 3))
        generator += (dense(bh, z_dim, z_dim, 0.3) + dense(gh, z_dim, z_dim, 0.3)
                      + dense(bo, z_dim, channels[i], 0.1) + dense(go, z_dim, channels[i], 0.1)
                      + conv(f"conv2d_transpose_{i + 1}", 4, channels[i], channels[i + 1], True))
        statistics += bn_statistics(f"batch_normalization_{num_layers + 1 + i}", channels[i])
        dense_n += 4
    return [("input_4", []), ("model_2", generator + statistics), ("input_3", []),
            ("lambda_1", []), ("model_1", encoder)]


def arrays_of(layout):
    return {name: array for _, weights in layout for name, array in weights}


# ---- NumPy forward passes of the originals (TF's SAME padding, Keras 2's BN with eps 1e-3) ----

def conv_same(x, kernel, bias, stride):
    n, h, w, _ = x.shape
    kh, kw = kernel.shape[:2]
    oh, ow = -(-h // stride), -(-w // stride)
    ph, pw = max((oh - 1) * stride + kh - h, 0), max((ow - 1) * stride + kw - w, 0)
    x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    out = np.zeros((n, oh, ow, kernel.shape[3]))
    for i in range(kh):
        for j in range(kw):
            out += x[:, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride] \
                @ kernel[i, j]
    return out + bias


def conv_transpose(x, kernel, bias, stride, same):
    """Each input pixel scatters kernel taps (kh, kw, out, in); SAME crops to stride x input."""
    n, h, w, _ = x.shape
    kh, kw = kernel.shape[:2]
    full = np.zeros((n, (h - 1) * stride + kh, (w - 1) * stride + kw, kernel.shape[2]))
    for i in range(kh):
        for j in range(kw):
            full[:, i:i + stride * (h - 1) + 1:stride, j:j + stride * (w - 1) + 1:stride] += \
                x @ kernel[i, j].T
    if same:
        top, left = (full.shape[1] - h * stride) // 2, (full.shape[2] - w * stride) // 2
        full = full[:, top:top + h * stride, left:left + w * stride]
    return full + bias


def normalize(x, a, name):
    x = (x - a[f"{name}/moving_mean:0"]) / np.sqrt(a[f"{name}/moving_variance:0"] + 1e-3)
    if f"{name}/gamma:0" in a:
        x = x * a[f"{name}/gamma:0"] + a[f"{name}/beta:0"]
    return x


def relu(x):
    return np.maximum(x, 0)


def leaky(x):
    return np.where(x > 0, x, 0.2 * x)


def linear(x, a, name):
    return x @ a[f"{name}/kernel:0"] + a[f"{name}/bias:0"]


def acgan_generator_reference(a, noise, labels):
    h = noise * a["embedding_1/embeddings:0"][labels[:, 0]]
    h = relu(linear(h, a, "dense_1")).reshape(-1, 3, 3, 384)
    for i, (stride, same) in enumerate(((1, False), (2, True)), start=1):
        kernel, bias = a[f"conv2d_transpose_{i}/kernel:0"], a[f"conv2d_transpose_{i}/bias:0"]
        h = normalize(relu(conv_transpose(h, kernel, bias, stride, same)), a,
                      f"batch_normalization_{i}")
    return np.tanh(conv_transpose(h, a["conv2d_transpose_3/kernel:0"],
                                  a["conv2d_transpose_3/bias:0"], 2, True))


def acgan_discriminator_reference(a, images):
    h = images
    for i, stride in enumerate((2, 1, 2, 1), start=1):
        h = leaky(conv_same(h, a[f"conv2d_{i}/kernel:0"], a[f"conv2d_{i}/bias:0"], stride))
    h = h.reshape(len(h), -1)
    aux = np.exp(linear(h, a, "auxiliary"))
    return 1 / (1 + np.exp(-linear(h, a, "generation"))), aux / aux.sum(1, keepdims=True)


def ogan_encoder_reference(a, x, layers):
    for i in range(layers):
        x = conv_same(x, a[f"conv2d_{i + 1}/kernel:0"], a[f"conv2d_{i + 1}/bias:0"], 2)
        x = leaky(normalize(x, a, f"batch_normalization_{i}") if i else x)
    return linear(x.reshape(len(x), -1), a, "dense_1")


def ogan_generator_reference(a, z, layers, top):
    """The script's generator, layers named as it created them: block i's BatchNorm, then
    beta's hidden and output Dense, gamma's hidden and output Dense."""
    h = linear(z, a, "dense_2").reshape(-1, 4, 4, top)
    for i in range(layers):
        n = 3 + 4 * i
        beta = linear(relu(linear(z, a, f"dense_{n}")), a, f"dense_{n + 1}")
        gamma = linear(relu(linear(z, a, f"dense_{n + 2}")), a, f"dense_{n + 3}")
        h = normalize(h, a, f"batch_normalization_{layers + i}")
        h = relu(h * (1 + gamma[:, None, None]) + beta[:, None, None])
        h = conv_transpose(h, a[f"conv2d_transpose_{i + 1}/kernel:0"],
                           a[f"conv2d_transpose_{i + 1}/bias:0"], 2, True)
    return np.tanh(h)


# ---- helpers ----

def run_import(module, argv, capsys):
    """(exit status, stdout, stderr) of module.main(argv)."""
    try:
        module.main(argv)
        status = 0
    except SystemExit as exit:
        status = exit.code
    out, err = capsys.readouterr()
    return status, out, err


def error_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def acgan_files(folder, epoch=3, **sizes):
    generator, discriminator = acgan_layouts(**sizes)
    os.makedirs(folder, exist_ok=True)
    return (write_keras2(os.path.join(folder, f"params_generator_epoch_{epoch:03d}.hdf5"),
                         generator),
            write_keras2(os.path.join(folder, f"params_discriminator_epoch_{epoch:03d}.hdf5"),
                         discriminator))


def imported_discriminator(output_dir):
    discriminator = build_discriminator()
    rundir.find_run(output_dir).load(discriminator, "discriminator")
    return discriminator


# ---- AC-GAN ----

def test_acgan_round_trip_matches_the_originals_forward_pass(tmp_path, capsys):
    g_file, d_file = acgan_files(str(tmp_path / "original"), epoch=3)
    acgan_files(str(tmp_path / "original"), epoch=2)  # an older pair: the folder means epoch 3
    out = str(tmp_path / "run")
    status, stdout, _ = run_import(acgan_import, [str(tmp_path / "original"), "--output-dir",
                                                  out, "--verbose"], capsys)
    assert status == 0
    assert "imported 17 tensors in 7 groups" in stdout and "imported 12 tensors in 6" in stdout
    assert "start fresh" in stdout and "as at step 1800" in stdout
    assert saved_counters(os.path.join(out, "checkpoints")) == (1800, 3)

    gan, options = load_acgan_run(out)
    generator = gan.generator
    assert options.latent_size == 100
    g_arrays, d_arrays = (arrays_of(keras2_weights(f)) for f in (g_file, d_file))
    noise = RNG.uniform(-1, 1, (4, 100)).astype(np.float32)
    labels = np.array([[0], [3], [7], [9]], np.int32)
    fake = np.asarray(generator([noise, labels], training=False))
    assert np.abs(fake - acgan_generator_reference(g_arrays, noise, labels)).max() < 1e-5
    for norm in [layer for layer in generator.get_layer("sequential").layers
                 if hasattr(layer, "debias_variables")]:
        assert float(norm.debias_variables()[-1]) == 1800  # local_step: 3 epochs x 600

    images = RNG.uniform(-1, 1, (4, 28, 28, 1)).astype(np.float32)
    generation, auxiliary = imported_discriminator(out)(images, training=False)
    ref_generation, ref_auxiliary = acgan_discriminator_reference(d_arrays, images)
    assert np.abs(np.asarray(generation) - ref_generation).max() < 1e-5
    assert np.abs(np.asarray(auxiliary) - ref_auxiliary).max() < 1e-5


def test_acgan_train_resumes_the_imported_run(tmp_path, capsys):
    _, d_file = acgan_files(str(tmp_path / "original"), epoch=1)
    out = str(tmp_path / "run")
    assert run_import(acgan_import, [d_file, "--output-dir", out], capsys)[0] == 0
    from acgan_mnist import train
    train.main(["--output-dir", out, "--data-dir", write_mnist_dir(str(tmp_path / "mnist")),
                "--epochs", "2", "--steps-per-epoch", "1", "--batch-size", "4"])
    assert "resuming from" in capsys.readouterr().out
    assert saved_counters(os.path.join(out, "checkpoints")) == (601, 2)


def test_acgan_wrong_size_file_names_the_tensor(tmp_path, capsys):
    g_file, _ = acgan_files(str(tmp_path / "original"), d_widths=(32, 48, 128, 256))
    status, _, err = run_import(acgan_import, [g_file, "--output-dir", str(tmp_path / "run")],
                                capsys)
    line = error_line(err)
    assert status == 2
    assert "conv2d_2/kernel:0 has shape (3, 3, 32, 48)" in line and "(3, 3, 32, 64)" in line
    assert not os.path.exists(tmp_path / "run")


def test_acgan_refusals(tmp_path, capsys):
    folder = str(tmp_path / "original")
    g_file, d_file = acgan_files(folder)
    generator, discriminator = acgan_layouts()
    classic = str(tmp_path / "classic")  # a discriminator with a layer this revision lacks
    os.makedirs(classic)
    write_keras2(os.path.join(classic, "params_generator_epoch_001.hdf5"), generator)
    write_keras2(os.path.join(classic, "params_discriminator_epoch_001.hdf5"),
                 discriminator + [("dense_9", dense("dense_9", 3, 2))])
    keras3 = str(tmp_path / "keras3")  # the port's own file under the original's name
    os.makedirs(keras3)
    write_keras2(os.path.join(keras3, "params_generator_epoch_001.hdf5"), generator)
    build_discriminator().save_weights(str(tmp_path / "d.weights.h5"))
    os.rename(tmp_path / "d.weights.h5",
              os.path.join(keras3, "params_discriminator_epoch_001.hdf5"))
    renamed = str(tmp_path / "weights.hdf5")
    os.link(g_file, renamed)
    cases = [(os.path.join(classic, "params_generator_epoch_001.hdf5"), "holds dense_9/kernel:0"),
             (keras3, "not a Keras 2 weight file"),
             (str(tmp_path / "missing"), "does not exist"),
             (classic + "/..", "holds no pair"),
             (renamed, "is not named like params_generator_epoch_NNN.hdf5")]
    for path, expected in cases:
        status, _, err = run_import(acgan_import, [path, "--output-dir", str(tmp_path / "r")],
                                    capsys)
        assert status == 2 and expected in error_line(err), (path, err)
    assert not os.path.exists(tmp_path / "r")
    os.remove(g_file)
    status, _, err = run_import(acgan_import, [d_file, "--output-dir", str(tmp_path / "r")],
                                capsys)
    assert status == 2 and "params_generator_epoch_003.hdf5 is missing" in error_line(err)
    os.link(renamed, g_file)
    assert run_import(acgan_import, [folder, "--output-dir", str(tmp_path / "r")], capsys)[0] == 0
    status, _, err = run_import(acgan_import, [folder, "--output-dir", str(tmp_path / "r")],
                                capsys)
    assert status == 2 and "already holds a run" in error_line(err)


# ---- O-GAN ----

def ogan_file(path, **sizes):
    return write_keras2(str(path), ogan_layout(**sizes))


def test_ogan_round_trip_matches_the_originals_forward_pass(tmp_path, capsys):
    # the README's name, with Keras 2's suffix-less .weights
    path = ogan_file(tmp_path / "g_train_model.weights")
    out = str(tmp_path / "run")
    status, stdout, _ = run_import(ogan_import, [path, "--output-dir", out, "--verbose"], capsys)
    assert status == 0
    assert "imported 54 tensors in 25 groups" in stdout and "starts fresh" in stdout
    assert "generator dense_5:" in stdout and "debias state starts empty" in stdout
    with open(os.path.join(out, "options.json")) as f:
        options = json.load(f)
    assert (options["img_dim"], options["z_dim"]) == (32, 16)

    gan, _ = load_run(out)
    arrays = arrays_of(keras2_weights(path))
    x = RNG.uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)
    z = RNG.normal(0, 1, (3, 16)).astype(np.float32)
    encoded = np.asarray(gan.encoder(x, training=False))
    assert np.abs(encoded - ogan_encoder_reference(arrays, x, 3)).max() < 1e-5
    images = np.asarray(gan.generator(z, training=False))
    reference = ogan_generator_reference(arrays, z, 3, 256)
    assert reference.std() > 0.1 and np.abs(images - reference).max() < 1e-5


def test_ogan_train_resumes_the_imported_run(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert run_import(ogan_import, [ogan_file(tmp_path / "train_model.weights"),
                                    "--output-dir", out], capsys)[0] == 0
    from ogan_keras import train
    write_images(str(tmp_path / "images"), 4, size=(32, 32))
    train.main(["--output-dir", out, "--data", str(tmp_path / "images"), "--img_dim", "32",
                "--z_dim", "16", "--batch_size", "2", "--epochs", "1", "--steps_per_epoch", "1"])
    assert "resuming from" in capsys.readouterr().out
    assert saved_counters(os.path.join(out, "checkpoints"))[0] == 1


def test_ogan_wrong_size_file_names_the_tensor(tmp_path, capsys):
    path = ogan_file(tmp_path / "train_model.weights", widths=[64, 96, 256])
    status, _, err = run_import(ogan_import, [path, "--output-dir", str(tmp_path / "r")], capsys)
    line = error_line(err)
    assert status == 2
    assert "conv2d_2/kernel:0 has shape (4, 4, 64, 96)" in line and "(4, 4, 64, 128)" in line
    path = ogan_file(tmp_path / "other.weights")
    status, _, err = run_import(ogan_import, [path, "--z_dim", "32", "--output-dir",
                                             str(tmp_path / "r")], capsys)
    assert status == 2 and "dense_1/kernel:0 has shape (4096, 16)" in error_line(err)


def test_ogan_refusals(tmp_path, capsys):
    acgan_generator, _ = acgan_layouts()
    cases = [
        (write_keras2(str(tmp_path / "acgan.hdf5"), acgan_generator), "embedding_1/embeddings:0"),
        (write_keras2(str(tmp_path / "extra.weights"), ogan_layout() + [
            ("dense_99", dense("dense_99", 2, 2))]), "holds dense_99/kernel:0"),
        (str(tmp_path / "missing.weights"), "cannot read"),
        (str(tmp_path), "train_model.weights as a Keras 2 HDF5 file"),
        (str(tmp_path / "acgan.hdf5").replace("acgan.hdf5", "text.weights"), "cannot read"),
    ]
    with open(cases[-1][0], "w") as f:
        f.write("not HDF5")
    for path, expected in cases:
        status, _, err = run_import(ogan_import, [path, "--output-dir", str(tmp_path / "r")],
                                    capsys)
        assert status == 2 and expected in error_line(err), (path, err)


# ---- beside the originals: Keras 2.2.4 builds, saves and runs them (keras224_outputs.py) ----

def originals():
    """(Keras 2.2.4's python, the originals' sources), or a skip saying which is missing."""
    try:
        from sidebyside.environments import ORIGINALS_SRC, environment_python
    except ImportError:
        pytest.skip("sidebyside.environments is not in this checkout")
    python = environment_python("keras224")
    if python is None:
        pytest.skip("the keras224 environment is not built (python -m sidebyside.environments)")
    if ORIGINALS_SRC is None:
        pytest.skip("../shared/originals-src (the originals' sources) is absent")
    return python, ORIGINALS_SRC


def layout(path):
    return [(name, [(w, a.shape) for w, a in weights]) for name, weights in keras2_weights(path)]


def test_imports_match_keras_224_forward_passes(tmp_path, capsys):
    python, src = originals()
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras224_outputs.py")
    # TensorFlow 2 sets TF2_BEHAVIOR=1 in this process, which would turn TF 1.15 eager.
    env = {k: v for k, v in os.environ.items() if k not in ("TF2_BEHAVIOR", "PYTHONPATH")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", OMP_NUM_THREADS="2")
    done = subprocess.run([python, script, src, "outputs.npz"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    expected = np.load(tmp_path / "outputs.npz")

    # The test's own writers produce Keras 2.2.4's exact layout.
    generator_layout, discriminator_layout = acgan_layouts()
    for name, written in (("params_generator_epoch_002.hdf5", generator_layout),
                          ("params_discriminator_epoch_002.hdf5", discriminator_layout),
                          ("train_model.weights", ogan_layout())):
        assert layout(tmp_path / name) == layout(write_keras2(str(tmp_path / "w.h5"), written))

    assert run_import(acgan_import, [str(tmp_path / "params_generator_epoch_002.hdf5"),
                                     "--output-dir", str(tmp_path / "acgan")], capsys)[0] == 0
    generator = load_acgan_run(str(tmp_path / "acgan"))[0].generator
    fake = generator([expected["noise"], expected["labels"]], training=False)
    generation, auxiliary = imported_discriminator(str(tmp_path / "acgan"))(
        expected["images"], training=False)
    assert np.abs(np.asarray(fake) - expected["fake"]).max() < 1e-4
    assert np.abs(np.asarray(generation) - expected["generation"]).max() < 1e-4
    assert np.abs(np.asarray(auxiliary) - expected["auxiliary"]).max() < 1e-4

    assert run_import(ogan_import, [str(tmp_path), "--output-dir",  # its train_model.weights
                                    str(tmp_path / "ogan")], capsys)[0] == 0
    gan, _ = load_run(str(tmp_path / "ogan"))
    encoded = gan.encoder(expected["x"], training=False)
    decoded = gan.generator(expected["z"], training=False)
    assert np.abs(np.asarray(encoded) - expected["encoded"]).max() < 1e-4
    assert expected["decoded"].std() > 0.1
    assert np.abs(np.asarray(decoded) - expected["decoded"]).max() < 1e-4
