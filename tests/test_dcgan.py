import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from scipy import ndimage

from common import cli
from dcgan_tf import model, train, visualize
from dcgan_tf.gan import DCGAN, WGAN, bce_probabilities, with_critic_noise
from dcgan_tf.originals import wgan
from dcgan_tf.program import build_gan, parse_options, sample_images
from conftest import saved_counters, write_images, write_mnist_dir


def trainable(m):
    return sum(int(np.prod(v.shape)) for v in m.trainable_variables)


def test_all_eight_parameter_counts():
    assert trainable(model.build_generator()) == 5_135_363
    assert trainable(model.build_discriminator()) == 4_316_545
    mnist = dict(y_dim=10, c_dim=1)
    assert trainable(model.build_generator(output_height=28, **mnist)) == 7_065_211
    assert trainable(model.build_discriminator(input_height=28, **mnist)) == 3_769_479
    assert trainable(model.build_anime_generator()) == 4_600_704
    assert trainable(model.build_anime_discriminator()) == 2_770_176
    assert model.build_wgan_generator().count_params() == 12_069_632
    assert model.build_wgan_critic().count_params() == 11_161_088


def test_wgan_critics_patch_product_is_its_convolution(tmp_path, monkeypatch):
    """The critic's last 4x4/2 convolution, computed as a product of patches for speed, in
    float64 equals TensorFlow's convolution (forward, input and kernel gradients) to exact
    arithmetic's rounding, and its weight files are those of Keras' Conv2D."""
    critic = model.build_wgan_critic(ndf=4)
    (layer,) = [layer for layer in critic.layers if type(layer) is model.Conv2D]
    assert layer.input.shape[1:] == (8, 8, 32) and layer.output.shape[1:] == (3, 3, 64)
    critic.save_weights(tmp_path / "critic.weights.h5")
    monkeypatch.setattr(model, "Conv2D", keras.layers.Conv2D)
    plain = model.build_wgan_critic(ndf=4)
    plain.load_weights(tmp_path / "critic.weights.h5")
    for ours, theirs in zip(critic.weights, plain.weights):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((3, 8, 8, 32)))
    kernel = tf.constant(rng.standard_normal((4, 4, 32, 64)))
    upstream = tf.constant(rng.standard_normal((3, 3, 3, 64)))
    results = []
    for convolve in (lambda x, k: layer.convolution_op(x, k),
                     lambda x, k: tf.nn.conv2d(x, k, 2, "VALID")):
        with tf.GradientTape() as tape:
            tape.watch([x, kernel])
            y = convolve(x, kernel)
        results.append([y, *tape.gradient(y, [x, kernel], output_gradients=upstream)])
    for ours, tensorflows in zip(*results):
        assert ours.shape == tensorflows.shape
        assert np.abs(ours - tensorflows).max() < 1e-12 * np.abs(tensorflows).max()


def test_layer_names_follow_carpedm20():
    names = [layer.name for layer in model.build_generator(gf_dim=4).layers]
    assert {"g_h0_lin", "g_bn0", "g_h1", "g_h4"} <= set(names)
    names = [layer.name for layer in model.build_discriminator(df_dim=4).layers]
    assert {"d_h0_conv", "d_bn1", "d_h3_conv", "d_h4_lin"} <= set(names)
    assert "d_bn0" not in names


def test_conditional_shapes_28_14_7():
    g = model.build_generator(z_dim=8, gf_dim=4, gfc_dim=16, c_dim=1, y_dim=10,
                              output_height=28)
    assert g.get_layer("g_h2").output.shape[1:] == (14, 14, 8)
    y = tf.one_hot([1, 5], 10)
    image = g([tf.zeros((2, 8)), y], training=False)
    assert image.shape == (2, 28, 28, 1) and float(tf.reduce_min(image)) >= 0
    d = model.build_discriminator(df_dim=4, dfc_dim=16, c_dim=1, y_dim=10, input_height=28)
    assert d.get_layer("d_h1_conv").output.shape[1:] == (7, 7, 14)
    assert d([image, y], training=False).shape == (2, 1)
    # unconditional 28 needs 2 -> 4 -> 7 -> 14 -> 28, an odd step TF1's output_shape allowed
    assert model.build_generator(gf_dim=4, c_dim=1, output_height=28).output_shape == \
        (None, 28, 28, 1)


def adam():
    return keras.optimizers.Adam(2e-4, beta_1=0.5)


def test_dcgan_step_updates_d_once_and_g_twice():
    gan = DCGAN(model.build_generator(z_dim=8, gf_dim=4, output_height=16),
                model.build_discriminator(df_dim=4, input_height=16), z_dim=8)
    gan.compile(adam(), adam())
    logs = gan.train_step((tf.random.uniform((4, 16, 16, 3), -1, 1), tf.random.uniform((4, 8))))
    assert int(gan.d_optimizer.iterations) == 1 and int(gan.g_optimizer.iterations) == 2
    assert np.isfinite(float(logs["d_loss"]))
    anime = DCGAN(model.build_anime_generator(8, ngf=2), model.build_anime_discriminator(ndf=2),
                  z_dim=8, g_steps=1, z_dist="normal", from_logits=False)
    anime.compile(adam(), adam())
    anime.train_step((tf.random.uniform((2, 96, 96, 3), -1, 1), tf.random.normal((2, 8))))
    assert int(anime.d_optimizer.iterations) == 1 and int(anime.g_optimizer.iterations) == 1


# ---- carpedm20 as TF 1.15 ran it (side by side: notes-sidebyside-dcgan.md) ----

def test_carpedm20_batch_norm_epsilon_is_the_fused_kernels_minimum():
    """tf.contrib's batch_norm (updates_collections=None) ran every carpedm20 BatchNorm through
    tf.nn.fused_batch_norm, the conditional model's 2-D inputs too (reshaped to N x 1 x 1 x C),
    and that raised epsilon 1e-5 to 1.001e-5: every FusedBatchNormV3 op of both TF 1.15 graphs."""
    mnist = dict(gfc_dim=8, c_dim=1, y_dim=10)
    for network in (model.build_generator(gf_dim=4, output_height=16),
                    model.build_discriminator(df_dim=4, input_height=16),
                    model.build_generator(gf_dim=4, output_height=28, **mnist),
                    model.build_discriminator(df_dim=4, dfc_dim=8, c_dim=1, y_dim=10,
                                              input_height=28)):
        epsilons = {layer.name: layer.epsilon for layer in network.layers
                    if isinstance(layer, keras.layers.BatchNormalization)}
        assert epsilons and set(epsilons.values()) == {1.001e-5}, epsilons


def tiny_carpedm20(conditional):
    size, y_dim = (28, 10) if conditional else (16, None)
    gan = DCGAN(model.build_generator(z_dim=8, gf_dim=4, gfc_dim=8, c_dim=1, y_dim=y_dim,
                                      output_height=size),
                model.build_discriminator(df_dim=4, dfc_dim=8, c_dim=1, y_dim=y_dim,
                                          input_height=size),
                z_dim=8, conditional=conditional, reevaluate=True)
    gan.compile(adam(), adam())
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (4, size, size, 1)).astype("float32")
    z = rng.uniform(-1, 1, (4, 8)).astype("float32")
    y = np.eye(10, dtype="float32")[[1, 2, 3, 1]] if conditional else None
    return gan, images, y, z


@pytest.mark.parametrize("conditional", [False, True])
def test_carpedm20_prints_the_losses_reevaluated_after_its_updates(monkeypatch, conditional):
    """train() printed errD_fake, errD_real and errG, evaluated after d_optim and the two
    g_optim runs: three more training-mode runs that (updates_collections=None) moved the
    BatchNorm statistics too. Per step the generator's BatchNorms run 5 times (d_optim, 2 x
    g_optim, errD_fake, errG), the discriminator's 7 (real and fake in d_optim, 2 x g_optim,
    errD_fake, errD_real, errG)."""
    from common.old_frameworks import LegacyBatchNormalization
    calls, call = {}, LegacyBatchNormalization.call

    def counted(self, inputs, training=None, mask=None):
        if training:
            calls[self.name] = calls.get(self.name, 0) + 1
        return call(self, inputs, training=training, mask=mask)
    monkeypatch.setattr(LegacyBatchNormalization, "call", counted)
    gan, images, y, z = tiny_carpedm20(conditional)
    logs = gan.train_step((images, y, z) if conditional else (images, z))
    assert set(calls.values()) == {5, 7}
    assert all(calls[name] == (5 if name.startswith("g_") else 7) for name in calls), calls
    # training-mode losses use batch statistics: the updated networks give the printed ones
    d_loss_real, d_loss_fake, g_loss = gan.losses_on(images, y, z)
    for name, value in (("d_loss_real", d_loss_real), ("d_loss_fake", d_loss_fake),
                        ("g_loss", g_loss), ("d_loss", d_loss_real + d_loss_fake)):
        assert float(logs[name]) == pytest.approx(float(value), rel=1e-6), name


def test_only_carpedm20_reevaluates_its_losses():
    from dcgan_tf.program import build_gan
    tiny = ["--gf_dim", "2", "--df_dim", "2", "--z_dim", "4"]
    for arch, reevaluates in (("dcgan", True), ("anime", False)):
        args = parse_options(["--arch", arch, "--output_height", "16" if arch == "dcgan"
                              else "96", *tiny])
        assert build_gan(cli.replaced(args, c_dim=3)).reevaluate is reevaluates


def test_carpedm20_folder_data_has_sample_inputs(tmp_path):
    """train(): sample_files = self.data[0:sample_num] of the list __init__ shuffled once,
    before the first epoch reshuffled it; the [Sample] evaluation ran on folder data too."""
    from dcgan_tf.program import folder_data
    write_images(str(tmp_path / "data" / "celebA"), 6, size=(16, 16))
    args = parse_options(["--data_dir", str(tmp_path / "data"), "--batch_size", "2",
                          "--output_height", "16", "--input_fname_pattern", "*.png"])
    folder, args = folder_data(args)
    _, _, _, (images, y) = train.training_data(args, folder)
    assert y is None
    expected = [np.asarray(Image.open(path), np.float32) / 127.5 - 1 for path in folder.paths[:2]]
    np.testing.assert_allclose(images, np.stack(expected), atol=1e-6)


def test_wgan_step_clips_every_critic_weight_and_takes_5_critic_steps():
    gan = WGAN(model.build_wgan_generator(8, ngf=32), model.build_wgan_critic(ndf=4), z_dim=8)
    gan.compile(keras.optimizers.RMSprop(5e-5), keras.optimizers.RMSprop(5e-5))
    gammas = [v for v in gan.critic.trainable_variables if "gamma" in v.path]
    assert gammas and float(np.min([g.numpy().min() for g in gammas])) > 0.9
    real = tf.random.uniform((2, 5, 96, 96, 3), -1, 1)  # batch first, then the 5 critic steps
    gan.train_step(with_critic_noise(8)(real, tf.constant([1, 2], tf.int64)))
    assert int(gan.d_optimizer.iterations) == 5 and int(gan.g_optimizer.iterations) == 1
    for variable in gan.critic.trainable_variables:
        assert np.abs(variable.numpy()).max() <= 0.01 + 1e-7, variable.path


TINY = ["--batch_size", "2", "--gf_dim", "2", "--df_dim", "4", "--gfc_dim", "8",
        "--dfc_dim", "8", "--z_dim", "4", "--sample_freq", "2", "--ckpt_freq", "2"]


def run(tmp_path, *argv):
    return train.main(["--train", "--data_dir", str(tmp_path / "data"),
                       "--output-dir", str(tmp_path / "run"), *TINY, *argv])


def state(tmp_path):
    step, epoch = saved_counters(tmp_path / "run" / "checkpoints")
    return {"step": step, "epoch": epoch}


def test_cli_celeba_style_folder_crops_samples_and_resumes(tmp_path, capsys):
    write_images(str(tmp_path / "data" / "celebA"), 6, size=(36, 44), ext="jpg")
    run(tmp_path, "--crop", "--input_height", "32", "--output_height", "16", "--epoch", "1")
    samples = sorted(os.listdir(tmp_path / "run" / "samples"))
    # after every --sample_freq-th step (2): the classic revision's counter % 100 == 1 after
    # counter += 1, at steps 100, 200...
    assert samples == ["train_00_0001.png"]
    assert Image.open(tmp_path / "run" / "samples" / samples[0]).size == (16 * 2, 16 * 1)
    assert state(tmp_path) == {"step": 3, "epoch": 1}
    out = capsys.readouterr().out
    assert " [!] Load failed..." in out and "Epoch: [ 0/ 1] [   2/   3]" in out
    assert out.count("[Sample] d_loss: ") == 1
    gan = run(tmp_path, "--crop", "--input_height", "32", "--output_height", "16", "--epoch", "2")
    assert " [*] Load SUCCESS" in capsys.readouterr().out
    assert state(tmp_path) == {"step": 6, "epoch": 2}
    assert int(gan.d_optimizer.iterations) == 6 and int(gan.g_optimizer.iterations) == 12
    assert (tmp_path / "run" / "evolution.gif").exists()


def test_cli_conditional_mnist_and_visualize_options(tmp_path):
    write_mnist_dir(str(tmp_path / "data" / "mnist"), 16, 4)
    run(tmp_path, "--dataset", "mnist", "--epoch", "1")
    options = json.loads((tmp_path / "run" / "options.json").read_text())
    assert options["output_height"] == 28 and options["c_dim"] == 1
    image = Image.open(tmp_path / "run" / "samples" / "train_00_0001.png")
    assert image.mode == "L" and image.size == (56, 28)
    checkpoint_dir = str(tmp_path / "run" / "checkpoints")
    expected = {0: 1, 1: 4, 2: 4, 3: 4, 4: 5}
    for option, count in expected.items():
        out = tmp_path / f"vis{option}"
        visualize.main(["--checkpoint_dir", checkpoint_dir, "--option", str(option),
                        "--sample_dir", str(out)])
        names = os.listdir(out)
        assert len(names) >= (1 if option == 2 else count), (option, names)
        if option == 1:
            assert sorted(names) == [f"test_arange_{i}.png" for i in range(4)]
        if option == 4:
            # frames 0, 1, 1, 0: PIL merges the repeated turnaround frame into one
            with Image.open(out / "test_gif_merged.gif") as gif:
                assert gif.n_frames == 3
    assert any(n.startswith("test_") and n.endswith(".png") for n in os.listdir(tmp_path / "vis0"))


@pytest.mark.parametrize("arch,subdir", [("anime", ""), ("wgan", "sub")])
def test_cli_anime_and_wgan_write_grids_and_resume(tmp_path, arch, subdir, capsys):
    write_images(str(tmp_path / "data" / "faces" / subdir), 10, size=(96, 96), ext="jpg")
    argv = ["--arch", arch, "--dataset", "faces", "--sample_freq", "1"]
    run(tmp_path, *argv, "--epoch", "1")
    steps = state(tmp_path)["step"]
    assert steps == (1 if arch == "wgan" else 5)
    gan = run(tmp_path, *argv, "--epoch", "2")
    assert state(tmp_path) == {"step": 2 * steps, "epoch": 2}
    assert int(gan.g_optimizer.iterations) == 2 * steps
    out = tmp_path / "run"
    # Anime_GAN: saved/img/{epoch}.png; the WGAN: saved/img/{step}.png from step 0
    assert sorted(os.listdir(out / "samples")) == ["0.png", "1.png"]
    assert (out / "generate.keras").exists() and (out / "discriminator.keras").exists()
    assert (out / "losses.png").exists() and (out / "evolution.gif").exists()
    printed = capsys.readouterr().out
    if arch == "anime":
        lines = (out / "generate_loss.txt").read_text().splitlines()
        assert len(lines) == 2 and lines[0].startswith("loss_G:") and lines[0].endswith(" ")
        assert (out / "discriminator_loss.txt").read_text().startswith("loss_D:")
        assert (out / "logging.png").exists()
    else:
        assert "[0] Loss_D: " in printed and "[1] Loss_D: " in printed


def expect_exit_2(capsys, tmp_path, message, *argv):
    with pytest.raises(SystemExit) as exit_info:
        run(tmp_path, "--epoch", "1", *argv)
    assert exit_info.value.code == 2
    err = [line for line in capsys.readouterr().err.strip().splitlines()
           if not line.startswith("note: ignored")]  # the count of files left out, if any
    assert len(err) == 1 and message in err[0], err


def test_bad_inputs_are_one_line_exit_2(tmp_path, capsys):
    os.makedirs(tmp_path / "data" / "empty")
    expect_exit_2(capsys, tmp_path, "no images", "--dataset", "empty")
    expect_exit_2(capsys, tmp_path, "does not exist", "--dataset", "missing")
    write_images(str(tmp_path / "data" / "few"), 1, ext="jpg")
    expect_exit_2(capsys, tmp_path, "Entire dataset size (1) is less than the configured "
                  "batch_size (2)", "--dataset", "few", "--output_height", "16")
    expect_exit_2(capsys, tmp_path, "no images", "--dataset", "few",
                  "--input_fname_pattern", "*.png")
    with pytest.raises(SystemExit):
        train.main(["--data_dir", str(tmp_path / "data"), "--dataset", "few",
                    "--output_height", "16", "--batch_size", "1",
                    "--output-dir", str(tmp_path / "fresh")])
    assert "Train a model first" in capsys.readouterr().err


def test_corrupt_jpeg_is_skipped_and_counted(tmp_path, capsys):
    write_images(str(tmp_path / "data" / "celebA"), 4, size=(16, 16), ext="jpg")
    (tmp_path / "data" / "celebA" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 nope")
    run(tmp_path, "--output_height", "16", "--epoch", "1")
    captured = capsys.readouterr()
    assert "skipped unreadable image" in captured.err and "broken.jpg" in captured.err
    assert "skipped 1 unreadable images of 5" in captured.out
    assert state(tmp_path)["step"] == 2


def test_mnist_batches_are_the_same_slices_every_epoch(tmp_path):
    """carpedm20's index loop: batch_idxs slices of the seed-547 order, the same each epoch."""
    write_mnist_dir(str(tmp_path / "data" / "mnist"), 16, 5)  # 21 images: 10 batches of 2
    args = parse_options(["--dataset", "mnist", "--data_dir", str(tmp_path / "data"),
                             "--batch_size", "2"])
    data, steps, size, first = train.training_data(args, None)
    assert (steps, size) == (10, 21)
    batches = [x.numpy() for x, _, _ in data(0).take(2 * steps)]  # (images, y, z)
    for i in range(steps):
        np.testing.assert_array_equal(batches[i], batches[steps + i])
    np.testing.assert_array_equal(batches[0], first[0])


def test_folder_epochs_use_a_fresh_subset_of_train_size_files(tmp_path):
    from common.cache import ImageFolder
    from common.decode import ImageSpec
    for value in range(10):
        Image.new("L", (4, 4), value * 20).save(tmp_path / f"{value}.png")
    folder = ImageFolder(sorted(str(p) for p in tmp_path.iterdir()),
                         ImageSpec(channels=1, scale="unit"), seed=3)
    data = folder.dataset(2, per_pass=4).unbatch().take(12)
    values = [int(round(float(v[0, 0, 0]) * 255 / 20)) for v in data.as_numpy_iterator()]
    passes = [values[i:i + 4] for i in (0, 4, 8)]
    assert all(len(set(p)) == 4 for p in passes)  # no file twice within an epoch
    assert len({tuple(sorted(p)) for p in passes}) > 1  # reshuffled between epochs


def test_anime_bce_is_torch_bceloss_and_finite_at_saturation():
    """nn.BCELoss on sigmoid outputs at logits +-20 and +-90, both targets: the losses and the
    gradients PyTorch 1.0.1 printed for the same inputs (sum over 4, divided here by 4 for the
    mean); no NaN where the sigmoid rounds to exactly 0 or 1."""
    logits = tf.Variable([20.0, -20.0, 90.0, -90.0])
    torch_loss = {0.0: 55.26204299926758, 1.0: 47.631019592285156}
    torch_gradient = {0.0: [0.0, 2.0602e-09, 0.0, 0.0], 1.0: [0.0, -0.9995, 0.0, 0.0]}
    for target in (0.0, 1.0):
        with tf.GradientTape() as tape:
            loss = bce_probabilities(keras.layers.Activation("sigmoid")(logits), target)
        gradient = tape.gradient(loss, logits).numpy()
        assert float(loss) == pytest.approx(torch_loss[target] / 4, rel=1e-6)
        assert np.all(np.isfinite(gradient))
        np.testing.assert_allclose(gradient, np.array(torch_gradient[target]) / 4, rtol=1e-3,
                                   atol=1e-12)


# ---- the anime WGAN as Keras 2.1.2 ran it (side by side: notes-sidebyside-wgan.md) ----

def tiny_wgan():
    return build_gan(parse_options(["--arch", "wgan", "--z_dim", "4", "--gf_dim", "2",
                                    "--df_dim", "2"]))


def test_wgan_rmsprop_holds_rho_as_keras_2_1_2s_float32_variable():
    """Keras 2.1.2's RMSprop kept rho in a float32 K.variable: its first accumulator is
    (1 - float32(0.9)) g^2 = 0.10000002 g^2 in float32, not 0.1 g^2."""
    gan = tiny_wgan()
    variables = gan.critic.trainable_variables
    gradient = np.float32(3e-3)
    gan.d_optimizer.apply([np.full(v.shape, gradient) for v in variables], variables)
    accumulator = np.asarray(gan.d_optimizer._velocities[0]).ravel()[0]
    expected = (np.float32(1) - np.float32(0.9)) * np.square(gradient)
    assert accumulator == expected, (accumulator, expected)


def test_wgan_samples_take_batch_statistics_per_32_as_keras_2_predict():
    """netG.predict(fixed_noise) ran Keras 2's default batch_size 32: the script's 64-image grid
    is two BatchNorm batches of 32."""
    gan = tiny_wgan()
    z = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    images = sample_images(gan, parse_options(["--arch", "wgan"]), z)
    halves = np.concatenate([gan.generator(z[:32], training=True),
                             gan.generator(z[32:], training=True)])
    np.testing.assert_array_equal(images, halves)
    assert np.abs(images - gan.generator(z, training=True).numpy()).max() > 1e-4


def keras2_rotation_reference(image, degrees):
    """Keras 2.1.2's apply_transform(transform_matrix_offset_center(R, h, w)): scipy's
    affine_transform, order 0, nearest fill, about (h / 2 + 0.5, w / 2 + 0.5) (the same
    pixels as Keras 2.1.2 itself gave for these angles)."""
    theta = np.deg2rad(degrees)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    centre = np.array([image.shape[0] / 2 + 0.5, image.shape[1] / 2 + 0.5])
    return np.stack([ndimage.affine_transform(image[..., c], rotation,
                                              centre - rotation @ centre, order=0,
                                              mode="nearest")
                     for c in range(image.shape[-1])], axis=-1)


def test_wgan_rotation_turns_about_keras_2_1_2s_centre():
    """ImageDataGenerator(rotation_range=20) of Keras 2.1.2 turned about a point half a pixel
    past the image's centre on both axes; Keras 3's RandomRotation turns about the centre,
    which moves 10-54% of a noise image's pixels to a neighbour's value at 3-20 degrees."""
    image = np.random.default_rng(0).integers(0, 256, (96, 96, 3)).astype(np.float32)
    degrees = np.array([-20.0, -13.7, -5.0, 3.0, 9.9, 20.0], np.float32)
    rotated = wgan.keras2_rotation(tf.constant(np.repeat(image[None], len(degrees), 0)),
                                    degrees).numpy()
    for angle, mine in zip(degrees, rotated):
        reference = keras2_rotation_reference(image, float(angle))
        # float32 coordinates may round a pixel on a .5 tie the other way
        assert np.sum(np.any(mine != reference, axis=-1)) <= 2, angle
    drawn = wgan.wgan_rotation(tf.constant(image[None].repeat(8, 0)), tf.constant([3, 4]))
    assert drawn.shape == (8, 96, 96, 3) and np.all(np.isin(drawn.numpy(), image))
