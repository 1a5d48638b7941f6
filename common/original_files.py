"""Importing an original's weights into a port: `Importer` assigns the arrays a reader returned
(by the original's own names) to the port's variables, checking every shape, so each package's
import_original.py is a mapping; the importers' shared command line and the run they write.

The readers, one module per format, read without the originals' frameworks and without running
any code the files name: common/tf1_checkpoints.py (TF1 Saver checkpoints: carpedm20, pix2pix),
common/keras2_files.py (Keras 2 HDF5: mnist_acgan.py, O-GAN, wgan_keras.py) and
common/torch_pickles.py (PyTorch pickles of whole modules: Anime_GAN's .t7).
"""
import os

import numpy as np

from common import cli, rundir
from common.checkpoint import Checkpoint, has_checkpoint
from common.errors import UserError
from common.keras2_files import keras2_layer_order


# ---- assigning to a port's variables ----

class Importer:
    """Assigns the original's arrays to a port's variables, one named group at a time; the
    first array that does not fit ends the import with one UserError naming it, its file, the
    shape found and the shape wanted. `verbose` prints a line per group. `source` names what
    was imported (a file, or the folder of an original's pair of files); a group read from one
    file of several names that file in `assign`."""

    def __init__(self, source, verbose=False):
        self.source, self.verbose = source, verbose
        self.groups = self.tensors = 0

    def assign(self, group, pairs, source=None):
        """pairs: [(original name, array, Keras variable)] read from `source` (default: the
        importer's); `group` names them in messages."""
        for name, array, variable in pairs:
            if tuple(array.shape) != tuple(variable.shape):
                raise UserError(f"{source or self.source}: {name} has shape {tuple(array.shape)}, the "
                                f"port's {variable.path} wants {tuple(variable.shape)}; is it "
                                "a file of this program at these sizes?")
        for _, array, variable in pairs:
            variable.assign(np.asarray(array, dtype=variable.dtype))
        self.groups += 1
        self.tensors += len(pairs)
        if self.verbose:
            shapes = ", ".join(f"{name.rsplit('/', 1)[-1]} {tuple(a.shape)}"
                               for name, a, _ in pairs)
            print(f"  {group}: {shapes}")

    def summary(self, output_dir):
        return (f"imported {self.tensors} tensors in {self.groups} groups from {self.source} "
                f"into {output_dir}")


def require(arrays, name, source):
    """arrays[name], or one UserError saying the file lacks it."""
    if name not in arrays:
        raise UserError(f"{source} has no {name}; is it a file of this program?")
    return arrays[name]


def dims(arrays, name, rank, source):
    """The shape of arrays[name], which must have `rank` axes."""
    shape = tuple(np.shape(require(arrays, name, source)))
    if len(shape) != rank:
        raise UserError(f"{source}: {name} has shape {shape}, not {rank} axes; is it a file "
                        "of this program?")
    return shape


def sibling_files(path, names, what):
    """{name: path} of the original's pair of files: PATH is their folder or one of them."""
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    files = {name: os.path.join(folder, name) for name in names}
    missing = [f for f in files.values() if not os.path.isfile(f)]
    if missing:
        raise UserError(f"{missing[0]} does not exist; PATH is {what}")
    return folder, files


def refuse_leftovers(arrays, used, source, ignore=()):
    """One UserError naming the first array of the file that nothing imported (a file of
    another revision or program), unless its name contains one of `ignore`."""
    left = [n for n in arrays if n not in used and not any(i in n for i in ignore)]
    if left:
        raise UserError(f"{source} holds {left[0]} (shape {tuple(np.shape(arrays[left[0]]))}), "
                        f"which this program's original does not have ({len(left)} such)")



def import_keras2_layers(importer, network, arrays, port):
    """A Keras 2 file's layers into a port network, `port` its {kind: [layers]} in the order
    the original's script created them: each port layer gets the file's layer of its kind at
    the same place in creation order (keras2_layer_order), each variable the array of its name;
    a file with fewer layers of a kind, or with arrays left over, is one UserError."""
    originals = keras2_layer_order(arrays)
    used = set()
    for kind, port_layers in port.items():
        names = originals.get(kind, [])
        for i, layer in enumerate(port_layers):
            if i >= len(names):
                wanted = layer.weights[0]
                raise UserError(f"{importer.source} has {len(names)} {kind} layers in its "
                                f"{network}, the port {len(port_layers)}: nothing for its "
                                f"{wanted.path} {tuple(wanted.shape)}; is it a file of this "
                                "program at these sizes?")
            pairs = [(f"{names[i]}/{v.name}:0",
                      require(arrays, f"{names[i]}/{v.name}:0", importer.source), v)
                     for v in layer.weights]
            importer.assign(f"{network} {names[i]}", pairs)
            used.update(name for name, _, _ in pairs)
    refuse_leftovers(arrays, used, importer.source)


# ---- the command and the run it writes ----

def import_parser(program, doc):
    """`python -m {program}.import_original PATH [--output-dir DIR] [--verbose]`; each
    program adds the original's size flags."""
    parser = cli.tool_parser(f"python -m {program}.import_original", doc)
    parser.add_argument("path", help="the original's checkpoint file (or folder)")
    parser.add_argument("--output-dir", "--output_dir", default=None,
                        help=f"the run directory to write (default: runs/{program}-imported)")
    parser.add_argument("--verbose", action="store_true", help="one line per imported group")
    return parser


def write_run(output_dir, options, gan, step=0, epoch=0, only=None):
    """The imported GAN as a normal run directory: options.json and one checkpoint at `step`
    (what gan.checkpoint_state() names; `only`: just these networks, no optimizer state)
    that `train` resumes and evaluate / generate load. Refuses a directory that already holds
    a checkpoint."""
    rundir.claim_output_dir(output_dir)
    checkpoints = os.path.join(output_dir, getattr(options, "checkpoint_dir", "checkpoints"))
    if has_checkpoint(checkpoints):
        raise UserError(f"{output_dir} already holds a run; pass another --output-dir")
    rundir.write_options(output_dir, cli.replaced(options, output_dir=output_dir))
    state = gan.checkpoint_state()
    if only:
        state = {"networks": {name: state["networks"][name] for name in only},
                 "optimizers": {}, "extra": {}}
    checkpoint = Checkpoint(checkpoints, **state)
    checkpoint.set_counters(step, epoch)  # an epoch starts at the imported step
    checkpoint.save()
    return checkpoint
