"""The three programs dcgan_tf ports, one module each behind one interface; --arch picks one
(ORIGINALS). dcgan_tf.program and dcgan_tf.train call these and never branch on --arch.

Each module defines:
  TITLE, DEFAULTS         its name on pages and plots; the values of the flags left at None
  OUTPUT_SIZE             the only output height its networks make (None: any)
  RESIZE, GREYSCALE       its image reader's resize method; whether a greyscale first image
                          makes c_dim 1 (carpedm20) or every image is read as RGB
  PROGRESS_BAR            a per-batch progress bar (Anime_GAN's tqdm) instead of a line
  LOSSES_EVERY_SAMPLE     the loss history's points every --sample_freq steps (else every
                          epoch)
  derived_options(args)   its own derived options (mnist, MNIST's sizes), a dict
  images_per_step(args)   real images one training step reads
  folder_stream(args, folder, steps), sample_real(args, folder)
                          the training stream of an image folder (stream(start): the tf.data
                          pipeline from step `start` on) and the [Sample] inputs, or None
  build_gan(args)         the compiled GAN (its checkpoint_state() names what a checkpoint
                          holds)
  sample_images(gan, args, z, y=None), value_range(args)
                          samples as the original sampled them (BatchNorm's mode and
                          batches), and the value range of its grids (None: each grid
                          stretched to its own min..max)
  callbacks(gan, args, steps, sample_inputs, checkpoint)
                          (its training outputs: lines, grids, model files; the grids' file
                          pattern for the GIF)
  DATASET, FILE_SUFFIX    for python -m dcgan_tf.import_original: the dataset folder an
                          imported run names by default; its files' suffix (None: none)
  read_files(args)        (source, what its files hold, sizes, step) of args.path
  import_weights(importer, gan, held)
                          assigns what read_files read to the port's variables
"""
import os

from dcgan_tf.originals import anime, carpedm20, wgan

ORIGINALS = {"dcgan": carpedm20, "anime": anime, "wgan": wgan}


def of(args):
    """The module of the original --arch names."""
    return ORIGINALS[args.arch]


def arch_of_files(path):
    """The --arch whose files PATH is or holds (by their suffix), else None."""
    names = os.listdir(path) if os.path.isdir(path) else [os.path.basename(path)]
    for arch, module in ORIGINALS.items():
        if module.FILE_SUFFIX and any(name.endswith(module.FILE_SUFFIX) for name in names):
            return arch
    return None
