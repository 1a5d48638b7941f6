"""Runner of o_gan_celeba_sm_4x4.py (bojone/o-gan c7b3d08) under TF 1.15 + Keras 2.2.4, for the
side-by-side.

The script has no command line: its sizes and its image list are module constants
(`imgs = glob.glob(...)`, `img_dim`, `z_dim`, `batch_size`) that the network code, the loader
and the sampling functions read as globals. The hook: the file is executed unmodified as
__main__ in a namespace whose assignments to exactly those four names store the config's
values instead (PinnedNamespace: a dict whose __setitem__ the module-level assignments go
through, so every later read, the functions' included, sees the pinned value):
config["images"] (the files of --data as the port lists them, sorted; the script then
shuffles them itself), config["img_dim"], config["z_dim"], config["batch_size"]. Everything
derived (num_layers, max_num_channels, f_size) follows from them as the script computes it.

Other hooks: the updates are ordered after the gradients, and the updates that assign one
variable in the order of the calls (hooks.order_keras2_updates), unless as_released; numpy's
shuffle and randn are recorded (fit_generator runs the script's img_generator in a thread,
ahead of training, so a draw's step is only roughly known: the port replays the inputs each
train_on_batch received, recorded below, not the draws);
Model.train_on_batch (what fit_generator calls) records each step's [X, Z] and returned
losses, writes train_model's weights with Keras 2's own save_weights before the first step
(initial/) and after the last (final/), where it also writes samples.npy (g_model.predict of
latents.npy), and stops the script (hooks.Finished).

Issue 19.4: the encoder runs three times per step (real, fake, stop-gradient fake) and each of
its BatchNormalizations builds one zero-debiased assign_moving_average per call, each with its
own TF shadow state, and all three assign the same moving variables (ordered, the last call's
lands; unordered, whichever TF 1.15 schedules last). After every step the
runner records, per encoder moving statistic, which call's debiased average the variable holds
(record_landed_streams).
"""
import sys

import numpy as np

import hooks

run = hooks.Recorder(sys.argv[1])
config = run.config
SCRIPT = "o_gan_celeba_sm_4x4.py"
ENCODER_CALLS = ("real", "fake", "fake_ng")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import backend as K  # noqa: E402
from keras.models import Model  # noqa: E402


namespace = hooks.PinnedNamespace(SCRIPT, {
    "imgs": list(config["images"]), "img_dim": config["img_dim"], "z_dim": config["z_dim"],
    "batch_size": config["batch_size"]})

if not config.get("as_released"):
    hooks.order_keras2_updates()
# The script never seeds: --seed decides its initial weights (Keras 2 draws the initializers'
# op seeds from numpy), its shuffles and its latents.
hooks.seed_everything(config["seed"])
run.record_numpy_draws(("randn",))


# ---- issue 19.4: which encoder call's debiased average the moving statistics hold ----

def debias_streams():
    """[(moving variable, [(biased, local_step) of each encoder call])] of the encoder's
    BatchNormalizations. Keras 2.2.4 called the layers once to build e_model (on its Input:
    shadow variables biased / local_step, never run in training) and then once per encoder
    call of the train model, in the script's order: biased_1 real, biased_2 fake, biased_3
    fake_ng."""
    variables = {v.op.name: v for v in tf.global_variables()}
    found = []
    for layer in namespace["e_model"].layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            for moving in (layer.moving_mean, layer.moving_variance):
                name = moving.op.name
                found.append((moving, [(variables["%s/biased_%d" % (name, k)],
                                        variables["%s/local_step_%d" % (name, k)])
                                       for k in range(1, len(ENCODER_CALLS) + 1)]))
    return found


def landed_stream_ops(momentum=0.99):
    """[(moving variable, [debiased average of each encoder call])], the averages computed
    with the ops TF 1.15's _zero_debias assigns (biased / (1 - (1 - decay) ** local_step)),
    so the call whose update landed last matches bit for bit."""
    decay = tf.convert_to_tensor(1.0 - momentum)
    return [(moving, [biased / (1 - tf.pow(1.0 - decay, step)) for biased, step in streams])
            for moving, streams in debias_streams()]


landed_ops = []


def record_landed_streams(step):
    """Of `step`: step_k/bn_landed: per encoder moving statistic, a bit mask of the calls whose debiased
    average it holds exactly (1 real, 2 fake, 4 fake_ng; fake and fake_ng see the same
    images, so 6 when a fake call landed); step_k/bn_distance: the largest difference to
    each call's average."""
    if not landed_ops:
        landed_ops.extend(landed_stream_ops())
    values = K.get_session().run(landed_ops)
    distances = np.array([[np.max(np.abs(moving - average)) for average in averages]
                          for moving, averages in values])
    run.record("bn_distance", distances, step)
    run.record("bn_landed", np.sum((distances == 0) * [1, 2, 4], axis=1), step)


# ---- the step hook ----

def save(folder):
    namespace["train_model"].save_weights(run.path(folder, "train_model.weights"))


def hooked_train_on_batch(self, x, y=None, sample_weight=None, class_weight=None):
    """fit_generator's call for one batch of img_generator: ([X, Z], None)."""
    if self is not namespace.get("train_model"):
        return train_on_batch(self, x, y, sample_weight, class_weight)
    if run.steps:  # what the previous step left (read here, outside the timed step)
        record_landed_streams(run.step - 1)
    run.begin_step()
    if not run.steps:
        save("initial")
    run.record("images", x[0])
    run.record("latents", x[1])
    losses = train_on_batch(self, x, y, sample_weight, class_weight)
    if run.step == config["steps"]:
        record_landed_streams(run.step)
        save("final")
        np.save(run.path("samples.npy"), namespace["g_model"].predict(np.load(config["latents"])))
    run.end_step(dict(zip(self.metrics_names, losses)))
    return losses


train_on_batch = Model.train_on_batch
Model.train_on_batch = hooked_train_on_batch

if not hooks.run_original(SCRIPT, namespace=namespace):
    sys.exit("%s ended before %d steps" % (SCRIPT, config["steps"]))
run.write()
