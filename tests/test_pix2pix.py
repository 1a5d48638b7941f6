import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from common.checkpoint import Checkpoint
from pix2pix_tf.pairs import paired_transform
from conftest import saved_counters, write_pairs
from pix2pix_tf import infer, process, train
from pix2pix_tf.gan import EPS, Pix2Pix, generator_losses, pix2pix_losses
from pix2pix_tf.model import (AlwaysOnDropout, BatchStatsNormalization, build_discriminator,
                              build_generator)


def trainable(m):
    return sum(int(np.prod(v.shape)) for v in m.trainable_variables)


def test_parameter_counts_match_the_original():
    g, d = build_generator(), build_discriminator()
    assert trainable(g) == 54_420_483 and trainable(d) == 2_769_601
    assert trainable(g) + trainable(d) == 57_190_084
    assert trainable(build_generator(separable_conv=True)) + trainable(d) == 6_314_292


def test_patch_output_skips_and_dropout():
    g, d = build_generator(ngf=4, seed=1), build_discriminator(ndf=4)
    x = tf.random.uniform((1, 256, 256, 3), -1, 1)
    assert d([x, x]).shape == (1, 30, 30, 1)
    assert d.get_layer("layer_4").output.shape[1:3] == (31, 31)
    for k in range(1, 8):
        skip = g.get_layer("encoder_1" if k == 1 else f"encoder_{k}_batchnorm").output
        assert g.get_layer(f"decoder_{k}_concat").input[1] is skip
    dropouts = sorted(l.name for l in g.layers if isinstance(l, AlwaysOnDropout))
    assert dropouts == ["decoder_6_dropout", "decoder_7_dropout", "decoder_8_dropout"]
    # dropout stays on and BatchNorm uses batch statistics even in inference calls
    assert not np.allclose(g(x, training=False).numpy(), g(x, training=False).numpy())


def test_losses_equal_the_formulas():
    rng = np.random.default_rng(0)
    real, fake = rng.uniform(0.01, 0.99, (2, 1, 30, 30, 1)).astype(np.float32)
    targets, outputs = rng.uniform(-1, 1, (2, 1, 8, 8, 3)).astype(np.float32)
    losses = pix2pix_losses(targets, outputs, real, fake, gan_weight=1.0, l1_weight=100.0)
    d = np.mean(-(np.log(real + EPS) + np.log(1 - fake + EPS)))
    gan = np.mean(-np.log(fake + EPS))
    l1 = np.mean(np.abs(targets - outputs))
    assert float(losses["discrim_loss"]) == pytest.approx(d, rel=1e-5)
    assert float(losses["gen_loss_GAN"]) == pytest.approx(gan, rel=1e-5)
    assert float(losses["gen_loss_L1"]) == pytest.approx(l1, rel=1e-5)
    assert float(losses["gen_loss"]) == pytest.approx(gan + 100 * l1, rel=1e-5)


def test_lab_colorization_pipeline_ranges_and_shapes():
    image = tf.random.uniform((300, 280, 3))
    inputs, targets = paired_transform("AtoB", lab_colorization=True, seed=1)(image)
    assert inputs.shape == (256, 256, 1) and targets.shape == (256, 256, 2)
    assert -1 <= float(tf.reduce_min(inputs)) and float(tf.reduce_max(inputs)) <= 1
    assert float(tf.reduce_max(tf.abs(targets))) <= 1.0
    inputs, targets = paired_transform("BtoA", lab_colorization=True, seed=1)(image)
    assert inputs.shape[-1] == 2 and targets.shape[-1] == 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_flip_resize_crop_keep_the_pair_aligned(seed):
    a = np.random.default_rng(seed).random((256, 256, 3)).astype(np.float32)
    pair = tf.constant(np.concatenate([a, 1.0 - a], axis=1))  # B = 255 - A per pixel
    inputs, targets = paired_transform("AtoB", scale_size=286, flip=True, seed=seed)(pair)
    assert inputs.shape == (256, 256, 3)
    np.testing.assert_allclose(targets.numpy(), -inputs.numpy(), atol=1e-5)
    inputs, targets = paired_transform("BtoA", scale_size=286, flip=True, seed=seed)(pair)
    np.testing.assert_allclose(targets.numpy(), -inputs.numpy(), atol=1e-5)


def referenced_images_exist(output_dir):
    html = open(os.path.join(output_dir, "index.html")).read()
    sources = re.findall(r"src='([^']+)'", html)
    assert sources
    return all(os.path.exists(os.path.join(output_dir, s)) for s in sources)


def test_train_test_export_modes(tmp_path, capsys):
    pairs = write_pairs(str(tmp_path / "pairs"), 2)
    run = str(tmp_path / "run")
    small = ["--ngf", "4", "--ndf", "4"]
    train.main(["--mode", "train", "--input_dir", pairs, "--output_dir", run, *small,
                "--max_steps", "2", "--display_freq", "1", "--progress_freq", "1",
                "--summary_freq", "2"])
    out = capsys.readouterr().out
    assert "parameter_count =" in out and "progress  epoch 1  step 2" in out
    assert referenced_images_exist(run)
    assert any(n.startswith("events.out.tfevents") for n in os.listdir(run))
    with Image.open(os.path.join(run, "evolution.gif")) as gif:
        assert gif.n_frames == 2  # display images at steps 1 and 2
    model = train.main(["--mode", "train", "--input_dir", pairs, "--output_dir", run, *small,
                        "--max_steps", "3"])
    assert int(model.g_optimizer.iterations) == 3
    assert "loading model from checkpoint" in capsys.readouterr().out

    test_dir = str(tmp_path / "test")
    train.main(["--mode", "test", "--input_dir", pairs, "--output_dir", test_dir,
                "--checkpoint", run])
    out = capsys.readouterr().out
    assert "loaded ngf = 4" in out and "evaluated image 0" in out
    assert referenced_images_exist(test_dir)

    export_dir = str(tmp_path / "export")
    train.main(["--mode", "export", "--output_dir", export_dir, "--checkpoint", run])
    a_half = str(tmp_path / "a0.png")
    Image.fromarray(np.asarray(Image.open(os.path.join(pairs, "0.png")))[:, :256]).save(a_half)
    result = infer.main([a_half, str(tmp_path / "b0.png"),
                         "--model", os.path.join(export_dir, "export.keras")])
    expected = np.asarray(Image.open(os.path.join(test_dir, "images", "0-outputs.png")))
    assert result.shape == (256, 256, 3) and result.std() > 0
    assert np.abs(result.astype(int) - expected.astype(int)).max() <= 1
    # --output_filetype jpeg at export: infer writes JPEG (quality 80), and only to .jpg
    train.main(["--mode", "export", "--output_dir", export_dir, "--checkpoint", run,
                "--output_filetype", "jpeg"])
    model = os.path.join(export_dir, "export.keras")
    infer.main([a_half, str(tmp_path / "b0.jpg"), "--model", model])
    assert (tmp_path / "b0.jpg").read_bytes()[:2] == b"\xff\xd8"
    with pytest.raises(SystemExit):
        infer.main([a_half, str(tmp_path / "b1.png"), "--model", model])
    assert "does not end with .jpg or .jpeg" in capsys.readouterr().err


def test_lab_colorization_trains_on_single_photos(tmp_path):
    photos = tmp_path / "photos"
    os.makedirs(photos)
    for i in range(2):
        Image.new("RGB", (300, 260), (200, 30 * i, 40)).save(photos / f"p{i}.jpg")
    run = str(tmp_path / "run")
    train.main(["--mode", "train", "--input_dir", str(photos), "--output_dir", run,
                "--lab_colorization", "--ngf", "4", "--ndf", "4", "--max_steps", "1",
                "--display_freq", "1"])
    image = Image.open(os.path.join(run, "images", "00000001-p0-targets.png"))
    assert image.mode == "RGB" and image.size == (256, 256)
    assert np.asarray(image)[..., 0].mean() > 150  # the red photo keeps its colour


def expect_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        train.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_bad_inputs(tmp_path, capsys):
    out = ["--output_dir", str(tmp_path / "out")]
    expect_exit_2(capsys, ["--mode", "train", "--input_dir", str(tmp_path / "no"), *out],
                  "does not exist")
    os.makedirs(tmp_path / "empty")
    expect_exit_2(capsys, ["--mode", "train", "--input_dir", str(tmp_path / "empty"), *out],
                  "contains no image files")
    odd = str(tmp_path / "odd")
    os.makedirs(odd)
    Image.new("RGB", (301, 256)).save(os.path.join(odd, "0.png"))
    expect_exit_2(capsys, ["--mode", "train", "--input_dir", odd, *out],
                  "cannot be split into equal A|B halves")
    expect_exit_2(capsys, ["--mode", "test", "--input_dir", odd, *out], "needs --checkpoint")


def test_process_operations(tmp_path):
    src = tmp_path / "src"
    os.makedirs(src)
    Image.new("RGB", (40, 30), (250, 10, 10)).save(src / "a.jpg")
    Image.new("L", (30, 40), 128).save(src / "b.png")
    common = ["--input_dir", str(src)]
    assert process.main([*common, "--operation", "resize", "--size", "16",
                         "--output_dir", str(tmp_path / "r")]) == 2
    assert Image.open(tmp_path / "r" / "a.png").size == (16, 16)
    assert process.main([*common, "--operation", "resize", "--size", "16",
                         "--output_dir", str(tmp_path / "r")]) == 0  # skips existing
    process.main(["--input_dir", str(tmp_path / "r"), "--operation", "blank", "--size", "16",
                  "--output_dir", str(tmp_path / "bl")])
    blanked = np.asarray(Image.open(tmp_path / "bl" / "a.png"))
    assert (blanked[7, 7] == 255).all() and blanked[0, 0, 1] < 50
    process.main([*common, "--operation", "grayscale", "--output_dir", str(tmp_path / "g")])
    grey = np.asarray(Image.open(tmp_path / "g" / "a.png"))  # 3-channel grey, as the original
    assert grey.shape == (30, 40, 3) and (grey[..., 0] == grey[..., 2]).all()
    process.main(["--input_dir", str(tmp_path / "r"), "--operation", "edges",
                  "--output_dir", str(tmp_path / "e")])
    process.main(["--input_dir", str(tmp_path / "r"), "--b_dir", str(tmp_path / "bl"),
                  "--operation", "combine", "--output_dir", str(tmp_path / "c")])
    assert Image.open(tmp_path / "c" / "b.png").size == (32, 16)
    counts = process.main(["--dir", str(tmp_path / "c"), "--operation", "split",
                           "--train_frac", "0.5"])
    assert counts == {"train": 1, "test": 0, "val": 1}


def test_edges_finds_a_boundary():
    image = np.zeros((16, 16, 3), np.uint8)
    image[:, 8:] = 255
    lines = process.edges(image)
    assert lines[5, 7, 0] == 0 and lines[5, 2, 0] == 255


def test_checkpoint_flag_trains_max_steps_more_and_restores_loss_averages(tmp_path):
    pairs = write_pairs(str(tmp_path / "pairs"), 2)
    small = ["--ngf", "4", "--ndf", "4", "--input_dir", pairs, "--mode", "train"]
    first = train.main([*small, "--output_dir", str(tmp_path / "a"), "--max_steps", "2"])
    averages = {k: float(v.numpy()) for k, v in first.averages.items()}
    assert all(v > 0 for v in averages.values())
    second = train.main([*small, "--output_dir", str(tmp_path / "b"), "--max_steps", "2",
                         "--checkpoint", str(tmp_path / "a"), "--progress_freq", "1"])
    assert int(second.g_optimizer.iterations) == 4  # 2 restored + 2 more, as the original
    assert saved_counters(tmp_path / "b" / "checkpoints")[0] == 4
    restored = Checkpoint(str(tmp_path / "a" / "checkpoints"), {}, {},
                          extra={"loss_averages": list(second.averages.values())})
    assert restored.restore()
    assert {k: float(v.numpy()) for k, v in second.averages.items()} == \
        pytest.approx(averages)
    # --max_steps 0 from --checkpoint a: the networks, Adam's state and the step are a's
    third = train.main([*small, "--output_dir", str(tmp_path / "c"), "--max_steps", "0",
                        "--checkpoint", str(tmp_path / "a")])
    for mine, theirs in zip(third.generator.weights + third.discriminator.weights
                            + third.g_optimizer.variables, first.generator.weights
                            + first.discriminator.weights + first.g_optimizer.variables):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))
    assert int(third.g_optimizer.iterations) == 2


def test_split_pairs_sorted_files_with_shuffled_assignments(tmp_path):
    import random
    names = [f"{i:02d}.png" for i in range(10)]
    for name in names:
        Image.new("RGB", (4, 4)).save(tmp_path / name)
    process.main(["--dir", str(tmp_path), "--operation", "split", "--train_frac", "0.6",
                  "--test_frac", "0.2"])
    random.seed(0)
    expected = ["train"] * 6 + ["test"] * 2 + ["val"] * 2
    random.shuffle(expected)  # tools/split.py's order of operations
    for name, folder in zip(names, expected):
        assert (tmp_path / folder / name).exists(), (name, folder)


# ---- the training step, as pix2pix.py computed it (measured with python -m sidebyside) ----

def small_pix2pix(lr=1.0):
    """ngf = ndf = 2; plain SGD, so each update is -lr x the gradient it applied."""
    keras.utils.set_random_seed(0)
    model = Pix2Pix(build_generator(ngf=2, seed=1), build_discriminator(ndf=2))
    model.compile(keras.optimizers.SGD(lr), keras.optimizers.SGD(lr))
    for layer in model.generator.layers:
        if isinstance(layer, AlwaysOnDropout):
            layer.rate = 0.0
    return model


def pair(seed):
    rng = np.random.default_rng(seed)
    return [tf.constant(rng.uniform(-1, 1, (1, 256, 256, 3)), tf.float32) for _ in range(2)]


def test_batchnorm_moving_statistics_never_move():
    """pix2pix.py never ran the update ops tf.layers.batch_normalization put in UPDATE_OPS:
    its checkpoints hold moving means 0 and variances 1 after any number of steps."""
    model = small_pix2pix(lr=1e-3)
    model.train_step(pair(0))
    norms = [layer for network in (model.generator, model.discriminator)
             for layer in network.layers if isinstance(layer, BatchStatsNormalization)]
    assert len(norms) == 17
    for layer in norms:
        np.testing.assert_array_equal(layer.moving_mean.numpy(), 0.0)
        np.testing.assert_array_equal(layer.moving_variance.numpy(), 1.0)


def discriminator_at(model, before, after):
    """The discriminator's forward pass with the weights `before` (a copy of its variables'
    values) whose backward pass multiplies by the weights `after` (its variables): the
    kernels and gammas pix2pix.py's generator gradient read, TF1 reference variables having
    been updated in place between its forward and backward passes."""
    d = model.discriminator
    old = dict(zip((id(v) for v in d.trainable_variables), before))

    def mixed(new, forward):
        return forward(new) + tf.stop_gradient(forward(old[id(new)]) - forward(new))

    def conv(x, name, stride):
        layer = d.get_layer(name)
        x = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
        return mixed(layer.kernel, lambda k: tf.nn.conv2d(x, k, stride, "VALID")) + \
            old[id(layer.bias)]

    def norm(x, name):
        layer = d.get_layer(name)
        mean, variance = tf.nn.moments(x, [0, 1, 2])
        x_hat = (x - mean) / tf.sqrt(variance + layer.epsilon)
        return mixed(layer.gamma, lambda gamma: gamma * x_hat) + old[id(layer.beta)]

    def call(inputs, targets):
        x = tf.nn.leaky_relu(conv(tf.concat([inputs, targets], 3), "layer_1", 2), 0.2)
        for i, stride in ((2, 2), (3, 2), (4, 1)):
            x = tf.nn.leaky_relu(norm(conv(x, f"layer_{i}", stride), f"layer_{i}_batchnorm"),
                                 0.2)
        return tf.sigmoid(conv(x, "layer_5", 1))
    return call


def test_generator_gradient_meets_the_updated_discriminator():
    """pix2pix.py's generator gradient is built under a control dependency on the
    discriminator's update, and its reads of the discriminator's reference variables share
    their buffers: it backpropagates through the updated kernels and gammas at the forward
    pass's activations (beside pix2pix.py on TF 1.15 this matches its gradients to 1e-5; the
    forward pass's own discriminator is 7e-3 off). Written out with raw ops here."""
    model = small_pix2pix()
    inputs, targets = pair(1)
    g_vars, d_vars = model.generator.trainable_variables, model.discriminator.trainable_variables
    g_before = [v.numpy() for v in g_vars]
    d_before = [v.numpy() for v in d_vars]
    with tf.GradientTape(persistent=True) as tape:
        outputs, losses, _ = model.forward(inputs, targets)
    plain = tape.gradient(losses["gen_loss"], g_vars)
    d_step = tape.gradient(losses["discrim_loss"], d_vars)
    model.update_networks(inputs, targets)
    for v, value, g in zip(d_vars, d_before, d_step):
        np.testing.assert_allclose(v.numpy(), value - g.numpy(), rtol=1e-5, atol=1e-6)
    applied = [value - v.numpy() for v, value in zip(g_vars, g_before)]
    for v, value in zip(g_vars, g_before):
        v.assign(value)
    with tf.GradientTape() as tape:
        outputs = model.generator(inputs, training=True)
        fake = discriminator_at(model, d_before, d_vars)(inputs, outputs)
        gen_loss = generator_losses(targets, outputs, fake)["gen_loss"]
    expected = tape.gradient(gen_loss, g_vars)
    scale = max(float(np.abs(g).max()) for g in expected)
    worst = max(float(np.abs(a - e.numpy()).max()) for a, e in zip(applied, expected)) / scale
    plain_off = max(float(np.abs(p.numpy() - e.numpy()).max())
                    for p, e in zip(plain, expected)) / scale
    print(f"generator update vs the updated discriminator's gradient: {worst:.1e}; the "
          f"forward pass's own discriminator's gradient differs by {plain_off:.1e}")
    assert worst < 1e-4 and plain_off > 1e-3


def test_displayed_averages_are_tf1s_exponential_moving_average():
    """tf.train.ExponentialMovingAverage(0.99): shadow -= (shadow - loss) * (1 - decay), with
    1 - decay computed in float32 (0.0099999905, not 0.01)."""
    model = small_pix2pix()
    loss = np.float32(1.4245410)
    values = {name: tf.constant(loss) for name in ("discrim_loss", "gen_loss_GAN",
                                                    "gen_loss_L1")}
    shadow = np.float32(0.0)
    for _ in range(3):
        averages = model.update_displayed_averages(values)
        shadow = np.float32(shadow - (shadow - loss) * (np.float32(1) - np.float32(0.99)))
        assert float(averages["discrim_loss"]) == float(shadow)


def test_aspect_ratio_stretches_saved_images_as_the_original(tmp_path):
    """--aspect_ratio 1.5: saved images are resized (bicubic) to 384x256, width over height."""
    from pix2pix_tf.program import save_image
    image = np.zeros((256, 256, 3), np.float32)
    image[:, 128:] = 1.0
    save_image(image, str(tmp_path / "wide.png"), 1.5)
    saved = Image.open(tmp_path / "wide.png")
    assert saved.size == (384, 256)
    row = np.asarray(saved)[0, :, 0]
    assert row[0] == 0 and row[-1] == 255 and 0 < row[192] < 255  # the edge moved to x = 192
