"""Runner of carpedm20 DCGAN-tensorflow (351a654) under TF 1.15, for the side-by-side: program
dcgan (an image folder, the unconditional model) and dcgan-mnist (the conditional MNIST model).

main.py runs unmodified with --train and tiny sizes: an image folder as --data_dir/--dataset
(input = output = config["size"], no crop, so get_image resizes each whole image), or MNIST
as --dataset mnist from IDX files the runner writes under workdir/data/mnist (load_mnist reads
exactly 60,000 + 10,000 raw images; a smaller --data is tiled to that count). z_dim is
main.py's generate_test_images (100); sample_num = batch_size.

Hooks:
- numpy and TensorFlow's graph seed are set from config["seed"], so a rerun draws alike;
- 351a654's __init__ checks len(self.data), which only its folder branch sets: for MNIST the
  runner's load_mnist wrapper sets self.data to the images it returns (AttributeError
  otherwise, as anyone running that revision on MNIST met);
- unless as_released, the session runs on one inter-op thread. tf.contrib's batch_norm with
  updates_collections=None updates the moving statistics inside every training-mode pass, and
  d_optim's one session run holds two discriminator passes (real and fake) whose updates of
  the same d_bn statistics race: their order, and whether the second reads the first's result
  (RefVariable reads alias the buffer), change from run to run. One thread runs them one
  after the other. Nothing the original trains reads the discriminator's moving statistics
  (its sampler is the generator alone); they only show in the variables compared at the end;
- Session.run follows each step: the d_optim run opens it (inputs, z and y as fed are
  recorded; before step 1 the initial weights are written with the model's own save() into
  workdir/initial); the two g_optim runs (z checked equal); the errD_fake, errD_real and errG
  evaluations after the updates, the losses the original printed (d_loss = errD_fake +
  errD_real); and, when train() runs its [Sample] evaluation after the step (counter % 100 ==
  1), that run too: its d_loss and g_loss become sample_d_loss and sample_g_loss of the step,
  and its sample_z and sample inputs are recorded. After the last step: save() into
  workdir/final and samples.npy from the sampler (batch_size latents per run); then Finished.
  (A Finished raised inside the folder branch's bare `except:` would be swallowed, so it is
  raised at the original's next session run instead.)
"""
import os
import sys

import numpy as np

import hooks

run = hooks.Recorder(sys.argv[1])
config = run.config
MNIST = config["program"] == "dcgan-mnist"
SAMPLE_EVERY = 100  # train(): `counter += 1`, then `if np.mod(counter, 100) == 1`
Y_DIM = 10

import tensorflow as tf  # noqa: E402
from tensorflow.python.client import session as tf_session  # noqa: E402

sys.path.insert(0, os.getcwd())  # the original's folder: main.py imports the same module
import model as carpedm20  # noqa: E402

np.random.seed(config["seed"])
tf.set_random_seed(config["seed"])
state = {"dcgan": None, "optims": [], "losses": {}, "z": None, "finished": False}


def write_mnist(folder):
    """train/t10k IDX files of --data, raw, with the counts load_mnist reshapes to."""
    (x_train, y_train), (x_test, y_test) = hooks.load_mnist(config["data"])
    os.makedirs(folder, exist_ok=True)
    for stem, array, count, magic in (
            ("train-images-idx3-ubyte", x_train, 60000, 2051),
            ("train-labels-idx1-ubyte", y_train, 60000, 2049),
            ("t10k-images-idx3-ubyte", x_test, 10000, 2051),
            ("t10k-labels-idx1-ubyte", y_test, 10000, 2049)):
        array = np.resize(np.asarray(array, np.uint8), (count,) + tuple(array.shape[1:]))
        header = magic.to_bytes(4, "big") + b"".join(
            d.to_bytes(4, "big") for d in array.shape)
        with open(os.path.join(folder, stem), "wb") as f:
            f.write(header + array.tobytes())


def arguments():
    common = ["--train", "--epoch", "1000000", "--batch_size", str(config["batch_size"]),
              "--checkpoint_dir", run.path("checkpoint", ""),
              # relative: train() saves to './{sample_dir}/train_...png', which an absolute
              # path (an absolute --output-dir) turns into './/tmp/...' at step 100
              "--sample_dir", os.path.relpath(run.path("samples", ""))]
    if MNIST:
        write_mnist(os.path.join(config["workdir"], "data", "mnist"))
        return common + ["--dataset", "mnist", "--data_dir",
                         os.path.join(config["workdir"], "data"),
                         "--input_height", "28", "--output_height", "28"]
    data = config["data"].rstrip("/")
    size = str(config["size"])
    return common + ["--dataset", os.path.basename(data), "--data_dir", os.path.dirname(data),
                     "--input_fname_pattern", config["input_fname_pattern"],
                     "--input_height", size, "--output_height", size]


# ---- the model and its optimizers ----

load_mnist = carpedm20.DCGAN.load_mnist


def load_mnist_with_data(self):
    images, labels = load_mnist(self)
    self.data = images
    return images, labels


carpedm20.DCGAN.load_mnist = load_mnist_with_data
train = carpedm20.DCGAN.train


def hooked_train(self, flags):
    state["dcgan"] = self
    return train(self, flags)


carpedm20.DCGAN.train = hooked_train
minimize = tf.train.AdamOptimizer.minimize


def recorded_minimize(self, loss, *args, **kwargs):
    operation = minimize(self, loss, *args, **kwargs)
    state["optims"].append(operation)  # d_optim, then g_optim
    return operation


tf.train.AdamOptimizer.minimize = recorded_minimize
session_init = tf_session.Session.__init__


def one_thread_session(self, target="", graph=None, config=None):
    if not run.config.get("as_released"):
        one = tf.ConfigProto()
        if config is not None:
            one.CopyFrom(config)
        one.inter_op_parallelism_threads = 1
        config = one
    session_init(self, target, graph, config)


tf_session.Session.__init__ = one_thread_session


# ---- each step ----

def kind(fetches):
    dcgan = state["dcgan"]
    if dcgan is None:
        return None
    first = fetches[0] if isinstance(fetches, (list, tuple)) and fetches else None
    if len(state["optims"]) == 2 and first is not None:
        if first is state["optims"][0]:
            return "d_optim"
        if first is state["optims"][1]:
            return "g_optim"
    if first is not None and first is dcgan.sampler:
        return "sample"
    for name in ("d_loss_fake", "d_loss_real", "g_loss"):
        if fetches is getattr(dcgan, name):
            return name
    return None


def fed(feed, name):
    return np.asarray(feed[getattr(state["dcgan"], name)], np.float32)


def save(folder):
    dcgan = state["dcgan"]
    dcgan.save(run.path(folder, ""), run.step - 1 if folder == "initial" else run.step)


def samples(session):
    """samples.npy: the sampler (moving statistics) on latents.npy, batch_size at a time (its
    graph fixes the batch), MNIST with labels 0..9 repeated."""
    dcgan, size = state["dcgan"], config["batch_size"]
    latents = np.load(config["latents"])
    count = len(latents)
    padded = -(-count // size) * size
    latents = np.resize(latents, (padded, latents.shape[1]))
    labels = np.eye(Y_DIM, dtype=np.float32)[np.arange(padded) % Y_DIM]
    outputs = []
    for start in range(0, padded, size):
        feed = {dcgan.z: latents[start:start + size]}
        if MNIST:
            feed[dcgan.y] = labels[start:start + size]
        outputs.append(session_run(session, dcgan.sampler, feed))
    np.save(run.path("samples.npy"), np.concatenate(outputs)[:count])


def finish(session, losses):
    if run.step == config["steps"]:
        save("final")
        samples(session)
    try:
        run.end_step(losses)
    except hooks.Finished:
        state["finished"] = True
        raise


session_run = tf_session.BaseSession.run


def hooked_run(self, fetches, feed_dict=None, options=None, run_metadata=None):
    if state["finished"]:
        raise hooks.Finished
    what = kind(fetches)
    if what == "d_optim":
        run.begin_step()
        if run.step == 1:
            save("initial")
        run.record("images", fed(feed_dict, "inputs"))
        state["z"] = fed(feed_dict, "z")
        run.record("z", state["z"])
        if MNIST:
            run.record("y", fed(feed_dict, "y"))
    elif what == "g_optim" and not np.array_equal(fed(feed_dict, "z"), state["z"]):
        raise RuntimeError("g_optim ran on another z than d_optim's")
    elif what == "sample":
        run.record("sample_images", fed(feed_dict, "inputs"))
        run.record("sample_z", fed(feed_dict, "z"))
        if MNIST:
            run.record("sample_y", fed(feed_dict, "y"))
    result = session_run(self, fetches, feed_dict, options, run_metadata)
    losses = state["losses"]
    if what in ("d_loss_fake", "d_loss_real", "g_loss"):
        losses[what] = float(result)
    if what == "g_loss":
        losses["d_loss"] = losses["d_loss_fake"] + losses["d_loss_real"]
        if (run.step + 1) % SAMPLE_EVERY != 1:
            state["losses"] = {}
            finish(self, losses)
    elif what == "sample":
        losses["sample_d_loss"], losses["sample_g_loss"] = float(result[1]), float(result[2])
        state["losses"] = {}
        finish(self, losses)
    return result


tf_session.BaseSession.run = hooked_run
try:
    hooks.run_original("main.py", arguments())
finally:
    run.write()
