import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from dcgan_tf import model, train, visualize
from dcgan_tf.run import parse_options
from dcgan_tf.gan import DCGAN, WGAN, bce_probabilities, with_critic_noise
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
    # after step 1, then every --sample_freq (2): the classic revision's counter % 100 == 1
    assert samples == ["train_00_0000.png", "train_00_0002.png"]
    assert Image.open(tmp_path / "run" / "samples" / samples[0]).size == (16 * 2, 16 * 1)
    assert state(tmp_path) == {"step": 3, "epoch": 1}
    out = capsys.readouterr().out
    assert " [!] Load failed..." in out and "Epoch: [ 0/ 1] [   2/   3]" in out
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
    image = Image.open(tmp_path / "run" / "samples" / "train_00_0000.png")
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
    err = capsys.readouterr().err.strip().splitlines()
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
    batches = [x.numpy() for x, _, _ in data.take(2 * steps)]  # (images, y, z)
    for i in range(steps):
        np.testing.assert_array_equal(batches[i], batches[steps + i])
    np.testing.assert_array_equal(batches[0], first[0])


def test_folder_epochs_use_a_fresh_subset_of_train_size_files(tmp_path):
    from common.data import ImageFolder, ImageSpec
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
