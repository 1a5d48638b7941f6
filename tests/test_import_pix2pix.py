"""pix2pix_tf.import_original: the original's Saver checkpoints (model-N and export) into a
run. The fixture graph is written here in tf.compat.v1 with pix2pix.py's variable scopes
(tf.compat.v1.layers needs Keras 2, so its conv2d / conv2d_transpose / separable_conv2d /
batch_normalization are spelt out with the same variable names); where the originals' TF 1.15
environment exists, the unmodified pix2pix.py is run too."""
import argparse
import json
import os
import subprocess

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from common.checkpoint import Checkpoint
from common.rundir import find_run
from conftest import saved_counters
from pix2pix_tf import evaluate, import_original, train
from pix2pix_tf.model import AlwaysOnDropout, BatchStatsNormalization
from pix2pix_tf.program import build_model

v1 = tf.compat.v1
SIZE = 256
FUSED_EPSILON = 1.001e-5  # what TF1's fused batch norm used for pix2pix.py's epsilon 1e-5


# ---- a TF1 graph with pix2pix.py's names ----

def normal(mean=0.0):
    return v1.random_normal_initializer(mean, 0.02)


def tf1_conv(x, filters, stride=2, padding="SAME", transpose=False, separable=False):
    """gen_conv / gen_deconv / discrim_conv's tf.layers call: its variable scope and names."""
    channels = int(x.shape[-1])
    zeros = v1.zeros_initializer()
    if separable:
        if transpose:  # the separable "deconv": 2x nearest upsampling, then stride 1
            x = v1.image.resize_images(x, [2 * int(x.shape[1])] * 2,
                                       method=v1.image.ResizeMethod.NEAREST_NEIGHBOR)
            stride = 1
        with v1.variable_scope("separable_conv2d"):
            depthwise = v1.get_variable("depthwise_kernel", [4, 4, channels, 1],
                                        initializer=normal())
            pointwise = v1.get_variable("pointwise_kernel", [1, 1, channels, filters],
                                        initializer=normal())
            bias = v1.get_variable("bias", [filters], initializer=zeros)
            return tf.nn.separable_conv2d(x, depthwise, pointwise, [1, stride, stride, 1],
                                          padding) + bias
    if transpose:
        with v1.variable_scope("conv2d_transpose"):
            kernel = v1.get_variable("kernel", [4, 4, filters, channels], initializer=normal())
            bias = v1.get_variable("bias", [filters], initializer=zeros)
            shape = [int(x.shape[0]), 2 * int(x.shape[1]), 2 * int(x.shape[2]), filters]
            return tf.nn.conv2d_transpose(x, kernel, shape, [1, 2, 2, 1], "SAME") + bias
    with v1.variable_scope("conv2d"):
        kernel = v1.get_variable("kernel", [4, 4, channels, filters], initializer=normal())
        bias = v1.get_variable("bias", [filters], initializer=zeros)
        return tf.nn.conv2d(x, kernel, [1, stride, stride, 1], padding) + bias


def tf1_batchnorm(x):
    """batchnorm(): tf.layers.batch_normalization(training=True), which runs TF's fused
    kernel, whose Python wrapper raises epsilon 1e-5 to 1.001e-5 (an old cuDNN minimum); its
    moving statistics exist but are never updated."""
    channels = [int(x.shape[-1])]
    with v1.variable_scope("batch_normalization"):
        gamma = v1.get_variable("gamma", channels, initializer=normal(1.0))
        beta = v1.get_variable("beta", channels, initializer=v1.zeros_initializer())
        v1.get_variable("moving_mean", channels, initializer=v1.zeros_initializer(),
                        trainable=False)
        v1.get_variable("moving_variance", channels, initializer=v1.ones_initializer(),
                        trainable=False)
        mean, variance = tf.nn.moments(x, [0, 1, 2])
        return tf.nn.batch_normalization(x, mean, variance, beta, gamma, FUSED_EPSILON)


def tf1_generator(x, out_channels, ngf, rate, separable):
    layers = []
    with v1.variable_scope("encoder_1"):
        layers.append(tf1_conv(x, ngf, separable=separable))
    for k, filters in enumerate([ngf * 2, ngf * 4] + [ngf * 8] * 5, start=2):
        with v1.variable_scope(f"encoder_{k}"):
            layers.append(tf1_batchnorm(tf1_conv(tf.nn.leaky_relu(layers[-1], 0.2), filters,
                                                 separable=separable)))
    specs = [(8, ngf * 8, True), (7, ngf * 8, True), (6, ngf * 8, True), (5, ngf * 8, False),
             (4, ngf * 4, False), (3, ngf * 2, False), (2, ngf, False)]
    for k, filters, dropout in specs:
        with v1.variable_scope(f"decoder_{k}"):
            x = layers[-1] if k == 8 else tf.concat([layers[-1], layers[k - 1]], axis=3)
            x = tf1_batchnorm(tf1_conv(tf.nn.relu(x), filters, transpose=True,
                                       separable=separable))
            layers.append(tf.nn.dropout(x, rate=rate) if dropout else x)
    with v1.variable_scope("decoder_1"):
        x = tf.nn.relu(tf.concat([layers[-1], layers[0]], axis=3))
        return tf.tanh(tf1_conv(x, out_channels, transpose=True, separable=separable))


def tf1_discriminator(inputs, targets, ndf):
    def conv(x, filters, stride):
        return tf1_conv(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), filters, stride, "VALID")

    with v1.variable_scope("layer_1"):
        x = tf.nn.leaky_relu(conv(tf.concat([inputs, targets], axis=3), ndf, 2), 0.2)
    for i in range(3):
        with v1.variable_scope(f"layer_{i + 2}"):
            x = conv(x, ndf * min(2 ** (i + 1), 8), 1 if i == 2 else 2)
            x = tf.nn.leaky_relu(tf1_batchnorm(x), 0.2)
    with v1.variable_scope("layer_5"):
        return tf.sigmoid(conv(x, 1, 1))


def channels(lab, direction):
    return (3, 3) if not lab else ((1, 2) if direction == "AtoB" else (2, 1))


def write_original(directory, ngf=4, ndf=4, steps=2, separable=False, lab=False,
                   direction="AtoB", export_dir=None, seed=0):
    """Train the fixture graph `steps` steps (batch 1, random pairs), give the never-updated
    BatchNorm moving statistics distinct values, and save as pix2pix.py did: model-N with its
    Saver(max_to_keep=1), options.json (and, with `export_dir`, an export checkpoint of the
    generator alone). Then one more step, whose gradients and results are returned with the
    saved checkpoint's forward pass on a fixed pair (dropout off)."""
    c_in, c_out = channels(lab, direction)
    rng = np.random.default_rng(seed)
    pair = lambda: (rng.uniform(-1, 1, (1, SIZE, SIZE, c_in)).astype(np.float32),
                    rng.uniform(-1, 1, (1, SIZE, SIZE, c_out)).astype(np.float32))
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(seed)
        inputs = v1.placeholder(tf.float32, [1, SIZE, SIZE, c_in])
        targets = v1.placeholder(tf.float32, [1, SIZE, SIZE, c_out])
        rate = v1.placeholder_with_default(0.5, ())
        with v1.variable_scope("generator"):
            outputs = tf1_generator(inputs, c_out, ngf, rate, separable)
        with v1.variable_scope("discriminator"):
            predict_real = tf1_discriminator(inputs, targets, ndf)
        with v1.variable_scope("discriminator", reuse=True):
            predict_fake = tf1_discriminator(inputs, outputs, ndf)
        with tf.name_scope("discriminator_loss"):
            d_loss = tf.reduce_mean(-(tf.math.log(predict_real + 1e-12)
                                      + tf.math.log(1 - predict_fake + 1e-12)))
        with tf.name_scope("generator_loss"):
            g_loss_gan = tf.reduce_mean(-tf.math.log(predict_fake + 1e-12))
            g_loss_l1 = tf.reduce_mean(tf.abs(targets - outputs))
            g_loss = g_loss_gan + 100.0 * g_loss_l1
        trainable = v1.trainable_variables()
        with tf.name_scope("discriminator_train"):
            d_adam = v1.train.AdamOptimizer(0.0002, 0.5)
            d_grads = d_adam.compute_gradients(
                d_loss, [v for v in trainable if v.name.startswith("discriminator")])
            d_train = d_adam.apply_gradients(d_grads)
        with tf.name_scope("generator_train"):
            with tf.control_dependencies([d_train]):
                g_adam = v1.train.AdamOptimizer(0.0002, 0.5)
                g_grads = g_adam.compute_gradients(
                    g_loss, [v for v in trainable if v.name.startswith("generator")])
                g_train = g_adam.apply_gradients(g_grads)
        update_losses = v1.train.ExponentialMovingAverage(0.99).apply(
            [d_loss, g_loss_gan, g_loss_l1])
        global_step = v1.train.get_or_create_global_step()
        train_op = tf.group(update_losses, v1.assign_add(global_step, 1), g_train)
        set_moving = tf.group([v.assign(rng.uniform(0.5, 1.5, v.shape).astype(np.float32))
                               for v in v1.global_variables() if "/moving_" in v.name])
        every = v1.global_variables()
        saver = v1.train.Saver(max_to_keep=1)
        exported = v1.train.Saver([v for v in every if v.name.startswith("generator/")
                                   and "Adam" not in v.name]) if export_dir else None
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            for _ in range(steps):
                x, y = pair()
                sess.run(train_op, {inputs: x, targets: y})
            sess.run(set_moving)
            prefix = saver.save(
                sess, os.path.join(directory, "model"), global_step=global_step)
            if export_dir:
                exported.save(sess, os.path.join(export_dir, "export"), write_meta_graph=False)
            x, y = pair()
            result = {"prefix": prefix, "inputs": x, "targets": y}
            result["outputs"], result["predict_real"] = sess.run(
                [outputs, predict_real], {inputs: x, targets: y, rate: 0.0})
            # One more step: the gradients it applied, and the variables and slots after it.
            x, y = pair()
            names = [v.op.name for _, v in d_grads + g_grads]
            grads = sess.run([g for g, _ in d_grads + g_grads] + [train_op],
                             {inputs: x, targets: y})[:-1]
            result["grads"] = dict(zip(names, grads))
            result["after"] = dict(zip([v.op.name for v in every], sess.run(every)))
    options = {"ngf": ngf, "ndf": ndf, "separable_conv": separable, "lab_colorization": lab,
               "which_direction": direction, "lr": 0.0002, "beta1": 0.5, "mode": "train",
               "seed": seed, "output_dir": directory}
    for folder, mode in ((directory, "train"), (export_dir, "export")):
        if folder:
            with open(os.path.join(folder, "options.json"), "w") as f:
                json.dump({**options, "mode": mode}, f, sort_keys=True, indent=4)
    return result


def comparable(network, epsilon=FUSED_EPSILON):
    """`network` with dropout off and the original's effective BatchNorm epsilon."""
    for layer in network.layers:
        if isinstance(layer, AlwaysOnDropout):
            layer.rate = 0.0
        if isinstance(layer, BatchStatsNormalization) and epsilon is not None:
            layer.epsilon = epsilon
    return network


def restored(run_dir):
    """The model of an imported run directory, restored as `train` restores it."""
    run = find_run(run_dir)
    model = build_model(run.options)
    checkpoint = Checkpoint.of(run.checkpoint_dir, model)
    assert checkpoint.restore()
    return model, checkpoint


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    folder = tmp_path_factory.mktemp("original")
    os.makedirs(folder / "train")
    os.makedirs(folder / "export")
    result = write_original(str(folder / "train"), export_dir=str(folder / "export"))
    return folder, result


def max_error(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


# ---- the tests ----

def test_import_gives_the_originals_forward_pass_and_state(original, tmp_path, capsys):
    folder, tf1 = original
    run_dir = str(tmp_path / "run")
    import_original.main([str(folder / "train"), "--output-dir", run_dir, "--verbose"])
    out = capsys.readouterr().out
    assert "generator/encoder_1: kernel (4, 4, 3, 4), bias (4,)" in out
    assert "generator_train: Adam m and v of 60 variables, step count 2" in out
    assert out.strip().splitlines()[-1].startswith("imported ")
    assert saved_counters(os.path.join(run_dir, "checkpoints")) == (2, 0)
    model, _ = restored(run_dir)
    arrays = import_original.tf1_checkpoint(tf1["prefix"])
    for layer, name in (("decoder_3_batchnorm", "generator/decoder_3"),
                        ("layer_4_batchnorm", "discriminator/layer_4")):
        network = model.generator if name.startswith("g") else model.discriminator
        np.testing.assert_array_equal(network.get_layer(layer).moving_variance,
                                      arrays[f"{name}/batch_normalization/moving_variance"])
    outputs = comparable(model.generator)(tf1["inputs"], training=True)
    real = comparable(model.discriminator)([tf1["inputs"], tf1["targets"]], training=True)
    print("max |difference|: generator", max_error(outputs, tf1["outputs"]),
          "discriminator", max_error(real, tf1["predict_real"]))
    assert max_error(outputs, tf1["outputs"]) < 1e-5
    assert max_error(real, tf1["predict_real"]) < 1e-5
    for key, name in import_original.LOSS_SHADOWS.items():
        assert float(model.averages[key]) == float(arrays[name]) != 0.0
    assert int(model.d_optimizer.iterations) == int(model.g_optimizer.iterations) == 2


def test_separable_lab_checkpoint_without_options_json(tmp_path):
    """The size flags stand in for a missing options.json."""
    os.makedirs(tmp_path / "o")
    tf1 = write_original(str(tmp_path / "o"), ngf=2, ndf=2, steps=1, separable=True, lab=True,
                         direction="BtoA", seed=3)
    os.remove(tmp_path / "o" / "options.json")
    run_dir = str(tmp_path / "run")
    import_original.main([tf1["prefix"] + ".index", "--output-dir", run_dir, "--ngf", "2",
                          "--ndf", "2", "--separable_conv", "--lab_colorization",
                          "--which_direction", "BtoA"])
    model, checkpoint = restored(run_dir)
    outputs = comparable(model.generator)(tf1["inputs"], training=True)
    print("max |difference| (separable, Lab):", max_error(outputs, tf1["outputs"]))
    assert max_error(outputs, tf1["outputs"]) < 1e-5 and checkpoint.step == 1


def adam_step(tf1, folder, beta_2=None):
    """Import, then one Adam step of the port's optimizers with the gradients TF1 applied;
    the worst differences from TF1's results: weights in units of (2 ulp + 1e-3 lr), m and v
    relative to each slot's largest value; the same for TF1's formula in float32 NumPy
    (epsilon-hat form: lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon))."""
    flags = argparse.Namespace(**{k: None for k in import_original.NETWORK_OPTIONS})
    options = import_original.run_options(flags, folder)
    model, _, _, _ = import_original.import_checkpoint(tf1["prefix"], options)
    before, after, f32 = import_original.tf1_checkpoint(tf1["prefix"]), tf1["after"], np.float32
    worst = dict.fromkeys(["weights", "m", "v", "numpy weights", "numpy m", "numpy v"], 0.0)

    def note(key, ours, theirs, unit):
        worst[key] = max(worst[key], float(np.max(np.abs(np.asarray(ours) - theirs) / unit)))

    for network, optimizer, scope in ((model.discriminator, model.d_optimizer,
                                       "discriminator_train"),
                                      (model.generator, model.g_optimizer, "generator_train")):
        if beta_2 is not None:
            optimizer.beta_2 = beta_2
        names = [(name, v) for pairs in import_original.original_names(network).values()
                 for name, v in pairs if v.trainable]
        optimizer.apply([tf1["grads"][name] for name, _ in names], [v for _, v in names])
        assert int(optimizer.iterations) == 3
        lr_t = (f32(0.0002) * np.sqrt(f32(1) - before[f"{scope}/beta2_power"])
                / (f32(1) - before[f"{scope}/beta1_power"]))
        for name, variable in names:
            g, m, v = tf1["grads"][name], before[f"{name}/Adam"], before[f"{name}/Adam_1"]
            m = m + (g - m) * (f32(1) - f32(0.5))
            v = v + (g * g - v) * (f32(1) - f32(0.999))
            index = optimizer._get_variable_index(variable)
            unit = 2 * np.spacing(np.abs(after[name])) + 1e-3 * 0.0002
            note("weights", variable, after[name], unit)
            note("numpy weights", before[name] - lr_t * m / (np.sqrt(v) + f32(1e-8)),
                 after[name], unit)
            for key, slot, mine in (("m", optimizer._momentums[index], m),
                                    ("v", optimizer._velocities[index], v)):
                theirs = after[f"{name}/Adam" if key == "m" else f"{name}/Adam_1"]
                scale = float(np.max(np.abs(theirs))) or 1.0
                note(key, slot, theirs, scale)
                note(f"numpy {key}", mine, theirs, scale)
    return worst


def test_adam_continues_as_tf1_adam(original):
    """TF1's formula in NumPy reproduces TF1's step exactly; the port's Adam gives m exactly,
    v within 1.3e-5 (TF1 forms 1 - beta2 from float32(0.999), Keras from the Python float:
    with beta_2 = float32(0.999) v is exact too) and the weights within 2 ulp."""
    folder, tf1 = original
    port = adam_step(tf1, str(folder / "train"))
    print("worst differences after one more step (port's Adam):", port)
    assert port["numpy weights"] <= 1 and port["numpy m"] == port["numpy v"] == 0
    assert port["weights"] <= 1 and port["m"] < 1e-6 and port["v"] < 2e-5
    exact = adam_step(tf1, str(folder / "train"), beta_2=float(np.float32(0.999)))
    print("with beta_2 = float32(0.999):", exact)
    assert exact["weights"] <= 1 and exact["m"] < 1e-6 and exact["v"] < 1e-6


def test_export_checkpoint_gives_a_generator_only_run(original, tmp_path, capsys):
    folder, tf1 = original
    run_dir = str(tmp_path / "run")
    import_original.main([str(folder / "export" / "checkpoint"), "--output-dir", run_dir])
    assert "generator only" in capsys.readouterr().out
    step_folder = find_run(run_dir).checkpoint_dir
    files = os.listdir(os.path.join(step_folder, os.listdir(step_folder)[0]))
    assert "generator.weights.h5" in files and "discriminator.weights.h5" not in files
    export_dir = str(tmp_path / "exported")
    train.main(["--mode", "export", "--output_dir", export_dir, "--checkpoint", run_dir])
    import keras
    exported = keras.saving.load_model(os.path.join(export_dir, "export.keras"))
    comparable(exported.get_layer("generator"))
    outputs = exported((tf1["inputs"] + 1) / 2) * 2 - 1
    assert max_error(outputs, tf1["outputs"]) < 1e-5


def error_line(capsys, argv):
    with pytest.raises(SystemExit) as exit_:
        import_original.main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and err[0].startswith("error: ")
    return err[0]


def test_wrong_size_names_the_first_tensor(original, tmp_path, capsys):
    folder, _ = original
    line = error_line(capsys, [str(folder / "train"), "--output-dir", str(tmp_path / "r"),
                               "--ngf", "8"])
    assert "generator/encoder_1/conv2d/kernel has shape (4, 4, 3, 4)" in line
    assert "wants (4, 4, 3, 8)" in line
    assert not os.path.exists(tmp_path / "r" / "checkpoints")
    line = error_line(capsys, [str(folder / "train"), "--output-dir", str(tmp_path / "r"),
                               "--separable_conv"])
    assert "without --separable_conv" in line


def test_another_programs_checkpoint_is_refused(tmp_path, capsys):
    graph = tf.Graph()
    with graph.as_default():
        v1.get_variable("generator/g_h0_lin/Matrix", [100, 8192])
        v1.get_variable("discriminator/d_h0_conv/w", [5, 5, 3, 64])
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            v1.train.Saver().save(sess, str(tmp_path / "DCGAN.model"), global_step=7)
    line = error_line(capsys, [str(tmp_path), "--output-dir", str(tmp_path / "r")])
    assert "has no generator/encoder_1/conv2d/kernel" in line
    line = error_line(capsys, [str(tmp_path / "missing"), "--output-dir", str(tmp_path / "r")])
    assert "does not exist" in line


def test_a_tensor_the_original_does_not_have_is_refused(original, tmp_path, capsys):
    """An export checkpoint of another revision (one variable more) is not half imported."""
    folder, _ = original
    arrays = import_original.tf1_checkpoint(str(folder / "export"))
    arrays["generator/encoder_9/conv2d/kernel"] = np.zeros((4, 4, 4, 4), np.float32)
    graph = tf.Graph()
    with graph.as_default():
        variables = [v1.Variable(value, name=name) for name, value in arrays.items()]
        with v1.Session(graph=graph) as sess:
            sess.run(v1.variables_initializer(variables))
            v1.train.Saver(variables).save(sess, str(tmp_path / "export"))
    line = error_line(capsys, [str(tmp_path / "export"), "--output-dir", str(tmp_path / "r"),
                               "--ngf", "4"])
    assert "holds generator/encoder_9/conv2d/kernel (shape (4, 4, 4, 4))" in line
    assert not os.path.exists(tmp_path / "r" / "checkpoints")


def write_pairs(directory, count=2):
    os.makedirs(directory)
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (SIZE, 2 * SIZE, 3), dtype=np.uint8)).save(
            os.path.join(directory, f"{i}.png"))
    return directory


def test_train_resumes_an_imported_run(original, tmp_path):
    folder, _ = original
    run_dir = str(tmp_path / "run")
    import_original.main([str(folder / "train" / "options.json"), "--output-dir", run_dir])
    pairs = write_pairs(str(tmp_path / "pairs"))
    assert evaluate.main(["--checkpoint", run_dir, "--input_dir", pairs])["num_images"] == 2
    model = train.main(["--mode", "train", "--input_dir", pairs, "--output_dir", run_dir,
                        "--ngf", "4", "--ndf", "4", "--max_steps", "3", "--progress_freq", "1",
                        "--summary_freq", "0"])
    assert saved_counters(os.path.join(run_dir, "checkpoints"))[0] == 3
    assert int(model.g_optimizer.iterations) == int(model.d_optimizer.iterations) == 3
    # the averages continue from the imported shadows (0.99 * shadow + 0.01 * loss)
    shadow = import_original.tf1_checkpoint(str(folder / "train"))[
        import_original.LOSS_SHADOWS["gen_loss_L1"]]
    assert 0.99 * shadow < float(model.averages["gen_loss_L1"]) < 0.99 * shadow + 0.02


# ---- the unmodified original, where its environment is built ----

RUNNER = """
import sys, numpy as np, tensorflow as tf
meta, prefix, arrays, out = sys.argv[1:]
data = np.load(arrays)
saver = tf.train.import_meta_graph(meta)
graph = tf.get_default_graph()
feed = {"batch:1": data["inputs"], "batch:2": data["targets"]}
feed.update({"generator/decoder_%d/dropout/rate:0" % k: 0.0 for k in (6, 7, 8)})
with tf.Session() as sess:
    saver.restore(sess, prefix)
    outputs, real = sess.run(["generator/decoder_1/Tanh:0",
                              "real_discriminator/discriminator/layer_5/Sigmoid:0"], feed)
np.savez(out, outputs=outputs, predict_real=real)
"""


def original_python():
    try:
        from sidebyside.environments import ORIGINALS_SRC, environment_python
    except ImportError:
        pytest.skip("sidebyside.environments is not in this checkout")
    python = environment_python("keras224")
    script = ORIGINALS_SRC and os.path.join(ORIGINALS_SRC, "pix2pix", "pix2pix.py")
    if python is None or not script or not os.path.isfile(script):
        pytest.skip("needs the originals' keras224 environment and pix2pix.py "
                    "(make originals)")
    return python, script


def original_environment():
    # TensorFlow 2 sets TF2_BEHAVIOR=1 in this process, which would turn TF 1.15 eager.
    env = {k: v for k, v in os.environ.items() if k not in ("TF2_BEHAVIOR", "PYTHONPATH")}
    return {**env, "CUDA_VISIBLE_DEVICES": ""}


def run_original(python, args, cwd):
    result = subprocess.run([python, *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=300,
                            env=original_environment())
    assert result.returncode == 0, result.stdout[-3000:]


def test_the_original_pix2pix_checkpoints_import(tmp_path):
    """pix2pix.py itself, unmodified: one training step, then --mode export; both
    checkpoints import, and the port's generator and discriminator give what the original's
    own graph computes (restored from model-1.meta, dropout rate fed 0)."""
    python, script = original_python()
    data = tmp_path / "data"
    os.makedirs(data)
    rng = np.random.default_rng(1)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (32, 64, 3), dtype=np.uint8)).save(
            data / f"{i}.png")
    small = ["--ngf", "3", "--ndf", "2"]
    run_original(python, [script, "--mode", "train", "--input_dir", "data", "--output_dir",
                          "out", "--max_steps", "1", "--save_freq", "1", "--summary_freq", "0",
                          "--progress_freq", "0", "--seed", "1", *small], tmp_path)
    run_original(python, [script, "--mode", "export", "--output_dir", "export",
                          "--checkpoint", "out", "--seed", "1"], tmp_path)
    inputs, targets = rng.uniform(-1, 1, (2, 1, SIZE, SIZE, 3)).astype(np.float32)
    np.savez(tmp_path / "pair.npz", inputs=inputs, targets=targets)
    with open(tmp_path / "runner.py", "w") as f:
        f.write(RUNNER)
    run_original(python, ["runner.py", "out/model-1.meta", "out/model-1", "pair.npz",
                          "reference.npz"], tmp_path)
    reference = np.load(tmp_path / "reference.npz")
    import_original.main([str(tmp_path / "out"), "--output-dir", str(tmp_path / "run")])
    model, checkpoint = restored(str(tmp_path / "run"))
    assert checkpoint.step == 1 and int(model.g_optimizer.iterations) == 1
    as_built = comparable(model.generator, epsilon=None)(inputs, training=True)
    outputs = comparable(model.generator)(inputs, training=True)
    real = comparable(model.discriminator)([inputs, targets], training=True)
    import_original.main([str(tmp_path / "export"), "--output-dir", str(tmp_path / "gen")])
    generator = build_model(find_run(str(tmp_path / "gen")).options).generator
    find_run(str(tmp_path / "gen")).load(generator, "generator")
    from_export = comparable(generator)(inputs, training=True)
    print("max |difference| against pix2pix.py: generator",
          max_error(outputs, reference["outputs"]), "discriminator",
          max_error(real, reference["predict_real"]), "export",
          max_error(from_export, reference["outputs"]), "generator with the port's own "
          "BatchNorm epsilon", max_error(as_built, reference["outputs"]))
    assert max_error(as_built, reference["outputs"]) < 1e-4
    assert max_error(outputs, reference["outputs"]) < 1e-5
    assert max_error(real, reference["predict_real"]) < 1e-5
    assert max_error(from_export, reference["outputs"]) < 1e-5
