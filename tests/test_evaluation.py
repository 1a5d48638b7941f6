"""Quality scores and sampling commands of every program: feature extractors, the project's
classifier, `evaluate` (one JSON line), `generate`, --eval-every columns, pix2pix's per-image
scores, TensorBoard summaries, and clear errors for bad inputs. Runs train a few steps."""
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from common import classifier, features
from common.errors import UserError
from conftest import write_images, write_mnist_dir


def expect_user_error(capsys, main, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last, last


def last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


# ---- extractors and the classifier ----

def tiny_network(channels=3):
    return keras.Sequential([keras.Input((16, 16, channels)), keras.layers.Conv2D(4, 3),
                             keras.layers.GlobalAveragePooling2D()])


def test_image_features_resize_and_tile_grey_images():
    extractor = features.ImageFeatures(tiny_network(), 16, "tiny")
    grey = np.random.default_rng(0).uniform(-1, 1, (5, 28, 28, 1)).astype(np.float32)
    feats, probabilities = extractor(grey)
    assert feats.shape == (5, 4) and probabilities is None
    again, _ = extractor(np.repeat(grey, 3, axis=-1))
    np.testing.assert_allclose(feats, again, atol=1e-5)


def test_thumbnails_are_area_averages():
    images = np.zeros((2, 16, 16, 3), np.float32)
    images[1, :8, :8] = 1.0
    feats, _ = features.Thumbnails(size=2)(images)
    assert feats.shape == (2, 12)
    np.testing.assert_allclose(feats[1].reshape(2, 2, 3)[:, :, 0], [[1, 0], [0, 0]])


def test_missing_inception_weights_say_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(UserError, match="not in the Keras cache") as info:
        features.inception()
    assert features.keras_cache_path(features.INCEPTION_FILE) in str(info.value)
    assert features.INCEPTION_URL in str(info.value)
    with pytest.raises(UserError, match="--inception-weights .* does not exist"):
        features.inception(str(tmp_path / "none.h5"))
    with pytest.raises(UserError, match="needs --classifier"):
        features.extractor("classifier")


def test_inception_features_from_a_weights_file(tmp_path):
    """The --inception-weights path end to end, with a weights file the test makes (random
    weights of the same network: no download)."""
    path = str(tmp_path / "inception_notop.weights.h5")
    keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg",
                                   input_shape=(299, 299, 3)).save_weights(path)
    extractor = features.inception(path)
    feats, probabilities = extractor(np.zeros((2, 28, 28, 1), np.float32))  # grey, resized
    assert feats.shape == (2, 2048) and probabilities is None
    assert extractor.description.startswith("inception_v3 pool (2048-d")
    (tmp_path / "bad.h5").write_bytes(b"not weights")
    with pytest.raises(UserError, match="is not InceptionV3's no-top weights file"):
        features.inception(str(tmp_path / "bad.h5"))


@pytest.fixture(scope="module")
def mnist_data(tmp_path_factory):
    return write_mnist_dir(str(tmp_path_factory.mktemp("data") / "mnist"), 200, 50)


@pytest.fixture(scope="module")
def classifier_file(tmp_path_factory, mnist_data):
    path = str(tmp_path_factory.mktemp("clf") / "clf.keras")
    accuracy = classifier.main(["--data-dir", mnist_data, "--output", path, "--epochs", "2"])
    assert accuracy > 0.9  # ten well separated blob positions
    return path


def test_classifier_file_loads_and_foreign_files_are_refused(tmp_path, classifier_file):
    feats, probabilities = features.classifier(classifier_file)(np.zeros((3, 28, 28, 1)))
    assert feats.shape == (3, 128) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    with pytest.raises(UserError, match="does not exist"):
        classifier.load_classifier(str(tmp_path / "none.keras"))
    tiny_network(1).save(str(tmp_path / "other.keras"))
    with pytest.raises(UserError, match="not a classifier made by common.classifier"):
        classifier.load_classifier(str(tmp_path / "other.keras"))


# ---- AC-GAN ----

@pytest.fixture(scope="module")
def acgan_run(tmp_path_factory, mnist_data, classifier_file):
    from acgan_mnist import train
    out = str(tmp_path_factory.mktemp("acgan") / "run")
    train.main(["--data-dir", mnist_data, "--epochs", "2", "--batch-size", "10",
                "--steps-per-epoch", "2", "--output-dir", out, "--eval-every", "2",
                "--classifier", classifier_file, "--num-samples", "50"])
    return out


def test_acgan_eval_every_adds_score_columns_and_a_panel(acgan_run):
    from common.callbacks import read_history
    history = read_history(os.path.join(acgan_run, "history.csv"))
    assert list(history["step"]) == [2, 4]
    for name in ("fid", "kid", "class_accuracy", "confidence"):
        assert np.isfinite(history[name]).all(), name
    assert 0 <= history["class_accuracy"].min() <= history["class_accuracy"].max() <= 1
    assert Image.open(os.path.join(acgan_run, "losses.png")).size[1] > 900  # 5 panels


def test_acgan_evaluate_prints_one_json_line(acgan_run, classifier_file, capsys):
    from acgan_mnist import evaluate
    evaluate.main(["--checkpoint", os.path.join(acgan_run, "checkpoints"), "--classifier",
                   classifier_file, "--num-samples", "60", "--batch-size", "25"])
    scores = last_json(capsys)
    assert scores["num_samples"] == 60 and scores["num_real"] == 60
    assert scores["fid"] >= 0 and 0 <= scores["class_accuracy"] <= 1
    assert scores["features"].startswith("classifier clf.keras")


def test_acgan_generate_writes_each_class(acgan_run, tmp_path):
    from acgan_mnist import generate
    images, labels = generate.main(["--checkpoint", acgan_run, "--num", "3",
                                    "--output-dir", str(tmp_path)])
    assert images.shape == (30, 28, 28, 1) and list(np.bincount(labels)) == [3] * 10
    assert (tmp_path / "class_0.png").exists() and (tmp_path / "class_9.png").exists()
    with np.load(tmp_path / "samples.npz") as saved:
        assert saved["images"].shape == (30, 28, 28, 1) and saved["noise"].shape == (30, 100)


def test_evaluate_bad_inputs_are_one_line(acgan_run, classifier_file, tmp_path, capsys):
    from acgan_mnist import evaluate
    expect_user_error(capsys, evaluate.main, ["--checkpoint", str(tmp_path / "none"),
                                              "--classifier", classifier_file], "does not exist")
    expect_user_error(capsys, evaluate.main, ["--checkpoint", str(tmp_path)],
                      "is not a training run")
    expect_user_error(capsys, evaluate.main, ["--checkpoint", acgan_run, "--classifier",
                                              str(tmp_path / "none.keras")], "does not exist")
    expect_user_error(capsys, evaluate.main, ["--checkpoint", acgan_run, "--classifier",
                                              classifier_file, "--metrics", "fid,psnr"],
                      "--metrics fid,psnr: choose from")


# ---- DCGAN family ----

TINY = ["--batch_size", "2", "--gf_dim", "2", "--df_dim", "4", "--gfc_dim", "8",
        "--dfc_dim", "8", "--z_dim", "4", "--sample_freq", "2", "--ckpt_freq", "2"]


def test_dcgan_conditional_evaluate_generate_and_mismatched_weights(tmp_path, classifier_file,
                                                                     acgan_run, capsys):
    from dcgan_tf import evaluate, generate, train
    write_mnist_dir(str(tmp_path / "data" / "mnist"), 16, 4)
    out = str(tmp_path / "run")
    train.main(["--train", "--dataset", "mnist", "--data_dir", str(tmp_path / "data"),
                "--output-dir", out, "--epoch", "1", *TINY])
    evaluate.main(["--checkpoint", out, "--classifier", classifier_file, "--num-samples", "20"])
    scores = last_json(capsys)
    assert {"fid", "kid", "class_accuracy", "confidence"} <= set(scores)
    images = generate.main(["--checkpoint", out, "--num", "2", "--output-dir",
                            str(tmp_path / "gen")])
    assert images.shape == (20, 28, 28, 1) and images.min() >= 0  # sigmoid images in [0, 1]
    assert (tmp_path / "gen" / "class_9.png").exists()
    # a run of another program: refused by the program its options.json names; a run from
    # before options named their program: refused where the weights do not fit
    from acgan_mnist import evaluate as acgan_evaluate
    expect_user_error(capsys, acgan_evaluate.main, ["--checkpoint", out, "--classifier",
                                                     classifier_file],
                      "is a run of dcgan_tf, not of acgan_mnist")
    with open(os.path.join(out, "options.json")) as f:
        options = json.load(f)
    del options["program"], options["options_format"]
    with open(os.path.join(out, "options.json"), "w") as f:
        json.dump(options, f)
    expect_user_error(capsys, acgan_evaluate.main, ["--checkpoint", out, "--classifier",
                                                     classifier_file], "does not fit")


def test_dcgan_folder_run_scores_thumbnails_during_training(tmp_path, capsys):
    from dcgan_tf import evaluate, train
    write_images(str(tmp_path / "data" / "celebA"), 6, size=(16, 16), ext="jpg")
    out = str(tmp_path / "run")
    train.main(["--train", "--data_dir", str(tmp_path / "data"), "--output-dir", out,
                "--output_height", "16", "--epoch", "1", "--eval-every", "2", "--features",
                "thumbnail", "--metrics", "fid,kid", "--num-samples", "6", *TINY])
    assert "scores at step 2: " in capsys.readouterr().out
    evaluate.main(["--checkpoint", out, "--features", "thumbnail", "--metrics", "fid",
                   "--num-samples", "6"])
    scores = last_json(capsys)
    assert scores["features"].startswith("thumbnail") and scores["num_real"] == 6
    assert "kid" not in scores


# ---- O-GAN ----

def test_ogan_evaluate_reconstruction_ratio_and_generate(tmp_path, capsys):
    from ogan_keras import evaluate, generate, train
    write_images(str(tmp_path / "faces"), 8, size=(40, 40), ext="jpg")
    out = str(tmp_path / "run")
    train.main(["--data", str(tmp_path / "faces"), "--img_dim", "32", "--z_dim", "8",
                "--batch_size", "4", "--epochs", "1", "--steps_per_epoch", "2",
                "--sample_every", "2", "--output-dir", out, "--eval-every", "2",
                "--metrics", "reconstruction_ratio", "--num-samples", "8"])
    assert "reconstruction_ratio" in open(os.path.join(out, "history.csv")).readline()
    evaluate.main(["--checkpoint", out, "--features", "thumbnail", "--num-samples", "8"])
    scores = last_json(capsys)
    assert scores["reconstruction_ratio"] == pytest.approx(
        scores["reconstruction_error"] / scores["pair_error"])
    assert scores["fid"] >= 0 and scores["num_samples"] == 8
    samples = generate.main(["--checkpoint", out, "--num", "4", "--output-dir",
                             str(tmp_path / "gen")])
    assert samples.shape == (4, 32, 32, 3)
    assert Image.open(tmp_path / "gen" / "reconstructions.png").size == (8 * 32, 8 * 32)
    assert Image.open(tmp_path / "gen" / "interpolations.png").size == (10 * 32, 8 * 32)


# ---- pix2pix ----

def test_pix2pix_test_mode_scores_and_evaluate(tmp_path, capsys):
    from pix2pix_tf import evaluate, train
    photos = tmp_path / "photos"
    os.makedirs(photos)
    for i in range(2):
        Image.new("RGB", (260, 260), (200, 40 * i, 40)).save(photos / f"p{i}.jpg")
    run = str(tmp_path / "run")
    train.main(["--mode", "train", "--input_dir", str(photos), "--output_dir", run,
                "--lab_colorization", "--ngf", "4", "--ndf", "4", "--max_steps", "2",
                "--eval-every", "2", "--num-samples", "2", "--summary_freq", "1"])
    assert "ab_error" in open(os.path.join(run, "history.csv")).readline()
    test_dir = str(tmp_path / "test")
    means = train.main(["--mode", "test", "--input_dir", str(photos), "--output_dir", test_dir,
                        "--checkpoint", run])
    rows = open(os.path.join(test_dir, "scores.csv")).read().splitlines()
    assert rows[0] == "name,psnr,ssim,ab_error,grey_ab_error" and rows[-1].startswith("mean,")
    assert len(rows) == 4 and "<th>ssim</th>" in open(os.path.join(test_dir, "index.html")).read()
    assert means["grey_ab_error"] > 10  # the photos are strongly coloured
    capsys.readouterr()
    evaluate.main(["--checkpoint", run])
    scores = last_json(capsys)
    assert scores["num_images"] == 2
    assert scores["ab_error"] == pytest.approx(means["ab_error"], rel=0.5)
    assert tensorboard_tags(run) >= {"discriminator_loss", "predict_real", "predict_fake",
                                     "gen_loss_L1", "ab_error"}


def tensorboard_tags(directory):
    tags = set()
    for name in os.listdir(directory):
        if name.startswith("events.out.tfevents"):
            for event in tf.compat.v1.train.summary_iterator(os.path.join(directory, name)):
                tags |= {value.tag for value in event.summary.value}
    return tags


def test_every_program_writes_tensorboard_scalars_and_grids(acgan_run, tmp_path):
    assert tensorboard_tags(acgan_run) >= {"d_loss", "g_loss", "fid", "plot_generated"}
    from ogan_keras import train
    write_images(str(tmp_path / "faces"), 4, size=(32, 32), ext="jpg")
    out = str(tmp_path / "ogan")
    train.main(["--data", str(tmp_path / "faces"), "--img_dim", "32", "--z_dim", "8",
                "--batch_size", "4", "--epochs", "1", "--steps_per_epoch", "2",
                "--sample_every", "2", "--output-dir", out])
    assert tensorboard_tags(out) >= {"t1_loss", "z_corr", "test", "test_ae", "test_interp"}
