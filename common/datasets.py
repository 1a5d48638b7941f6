"""The table of everything the project downloads: each dataset's files, their sources in the
order they are tried, SHA-256 and size, and what a complete unpack holds; the originals' source
files for the side-by-side runs. `common.download` fetches from it. Standard library only.
"""
import dataclasses
import glob
import os

KERAS_DATASETS = os.path.join(os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras")),
                              "datasets")


@dataclasses.dataclass(frozen=True)
class Remote:
    """One file to download: its name, the URLs that serve it (tried in order), its SHA-256
    and size in bytes (None where no public record of them was found), and where they came
    from."""
    filename: str
    urls: tuple
    sha256: str = None
    size: int = None
    provenance: str = ""


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A dataset as it must lie on disk: `folder` (under the data directory, or absolute),
    made from `files`. An archive unpacks its `root` folder into `folder`; plain files are put
    in `folder` as they are. `contents` maps a glob under `folder` to the number of files a
    complete copy has. `by_hand` says how to get a dataset nobody mirrors (no `files`)."""
    name: str
    folder: str
    files: tuple = ()
    root: str = None
    contents: tuple = ()
    by_hand: str = ""
    used_by: str = ""

    def problems(self, folder):
        """What a folder lacks to be a complete copy ([] when complete)."""
        found = []
        for pattern, count in self.contents:
            have = len(glob.glob(os.path.join(folder, pattern)))
            if have != count:
                found.append(f"{have} of {count} files matching {pattern}")
        return found


# LFW (the O-GAN post's faces). The UMass host stopped resolving in 2025; scikit-learn
# (sklearn/datasets/_lfw.py, ARCHIVE) fetches the same archive from figshare with this SHA-256,
# and TensorFlow Datasets' url_checksums/lfw.txt lists the UMass URL with the same SHA-256 and
# its size. LFW's own README: 13,233 images of 5,749 people.
LFW = Dataset(
    name="lfw", folder="lfw", root="lfw", used_by="ogan_keras (make train-ogan)",
    files=(Remote(
        "lfw.tgz",
        ("https://ndownloader.figshare.com/files/5976018",
         "https://figshare.com/ndownloader/files/5976018",
         "http://vis-www.cs.umass.edu/lfw/lfw.tgz"),
        sha256="055f7d9c632d7370e6fb4afc7468d40f970c34a80d4c6f50ffec63f5a8d536c0",
        size=180566744,
        provenance="scikit-learn sklearn/datasets/_lfw.py; TFDS url_checksums/lfw.txt"),),
    contents=(("*/*.jpg", 13233), ("*/", 5749)))

# MNIST's four IDX files, gzipped (LeCun's site, which now refuses most clients, lists the
# sizes). torchvision's mirror first, then TensorFlow Datasets'; TFDS url_checksums/mnist.txt
# gives the SHA-256 and size of each.
_MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                  "https://storage.googleapis.com/cvdf-datasets/mnist/",
                  "http://yann.lecun.com/exdb/mnist/")
_MNIST_FILES = (
    ("train-images-idx3-ubyte.gz", 9912422,
     "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    ("train-labels-idx1-ubyte.gz", 28881,
     "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    ("t10k-images-idx3-ubyte.gz", 1648877,
     "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    ("t10k-labels-idx1-ubyte.gz", 4542,
     "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
)
MNIST = Dataset(
    name="mnist", folder="mnist", used_by="dcgan_tf --dataset mnist (make train-dcgan-mnist)",
    files=tuple(Remote(name, tuple(m + name for m in _MNIST_MIRRORS), sha256=digest,
                       size=size, provenance="TFDS url_checksums/mnist.txt")
                for name, size, digest in _MNIST_FILES),
    contents=tuple((name, 1) for name, _, _ in _MNIST_FILES))

# keras.datasets.mnist's one file, where load_data() looks for it. The SHA-256 is Keras' own
# (keras/src/datasets/mnist.py); the size is what its download prints (11490434/11490434).
MNIST_NPZ = Dataset(
    name="mnist-npz", folder=KERAS_DATASETS, used_by="acgan_mnist (make train-acgan)",
    files=(Remote(
        "mnist.npz", ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",),
        sha256="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
        size=11490434, provenance="keras/src/datasets/mnist.py"),),
    contents=(("mnist.npz", 1),))

# pix2pix's facades (A|B pairs, 512x256). No public record of its SHA-256 or size was found
# (TFDS has only CycleGAN's facades.zip, another archive): the archive must be a gzipped tar
# whose files all lie under facades/, and the unpack must hold the paper's 400/100/106 split.
FACADES = Dataset(
    name="facades", folder="facades", root="facades",
    used_by="pix2pix_tf (make train-pix2pix)",
    files=(Remote(
        "facades.tar.gz",
        ("http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz",
         "https://people.eecs.berkeley.edu/~tinghuiz/projects/pix2pix/datasets/facades.tar.gz"),
        provenance="none found: archive structure and file counts checked"),),
    contents=(("train/*.jpg", 400), ("val/*.jpg", 100), ("test/*.jpg", 106)))

CELEBA = Dataset(
    name="celebA", folder="celebA", used_by="dcgan_tf --dataset celebA (make train-dcgan)",
    by_hand="celebA has no direct public download (Google Drive / Baidu, behind a form): get "
            "img_align_celeba.zip from the CelebA site and unpack its images so that "
            "DATA/celebA/*.jpg exist (202,599 files)")

FACES = Dataset(
    name="faces", folder="faces", used_by="dcgan_tf --arch anime/wgan (make train-anime)",
    by_hand="the anime faces set (faces.zip, linked from Anime_GAN's README, on a personal "
            "OneDrive/Baidu share) has no stable public mirror: unpack it so that "
            "DATA/faces/*.jpg exist")

DATASETS = {d.name: d for d in (LFW, MNIST, MNIST_NPZ, FACADES, CELEBA, FACES)}


def _github(repository, commit, path):
    return f"https://github.com/{repository}/raw/{commit}/{path}"


@dataclasses.dataclass(frozen=True)
class OriginalSource:
    """One tutorial program's files at its pinned commit: `files` maps the repository path to
    (the local name under `folder` of ../shared/originals-src, its Remote)."""
    folder: str
    repository: str
    commit: str
    files: dict

    def describe(self):
        return f"{self.repository}@{self.commit}"


def _original(folder, repository, commit, files):
    return OriginalSource(folder, repository, commit, {
        path: (name, Remote(name, (_github(repository, commit, path),), sha256=digest,
                            size=size, provenance="the file at the pinned commit"))
        for path, name, size, digest in files})


# The originals run beside the ports (sidebyside): SHA-256 and size of each file as it is at
# the pinned commit (the copies in ../shared/originals-src, which the harness has run).
ORIGINAL_SOURCES = {
    "acgan": _original("acgan", "keras-team/keras", "14625e57af", [
        ("examples/mnist_acgan.py", "mnist_acgan.py", 13127,
         "223c334975827d272d9eba1144806b0909c382a8872008fab505f25a6d2f73e7")]),
    "ogan": _original("ogan", "bojone/o-gan", "c7b3d08", [
        ("o_gan_celeba_sm_4x4.py", "o_gan_celeba_sm_4x4.py", 7601,
         "af81919dae65a3f682f671966da13f442d129da89286a1116b3eedf2844dc668")]),
    "dcgan": _original("dcgan", "carpedm20/DCGAN-tensorflow", "351a654", [
        ("main.py", "main.py", 4280,
         "054fa83b440730cc22322a233d2e39e532a0c97eadab75c1d4c633f1d2c3a0d7"),
        ("model.py", "model.py", 20288,
         "3692dd7bff5744076bb22212c36acb3369190c0f32da116f989a0ea2cf807ce8"),
        ("ops.py", "ops.py", 3904,
         "913f6eea08ef6f47ca8ed46683c7317bcc014bfe479134989ae26343ab75f4ae"),
        ("utils.py", "utils.py", 8724,
         "035d0259e97a72ea1059be39775ad31539dea8b8706dd1a2055050dd06ce4a17")]),
    "anime": _original("anime/DCGAN", "FangYang970206/Anime_GAN", "42c0315", [
        ("DCGAN/main.py", "main.py", 5441,
         "8b805b81bbb7fd8ce4a57e0a0edbaf914c149a7fc2d027baedf31073e3559c42"),
        ("DCGAN/model.py", "model.py", 3911,
         "b33dd7a2fa28470a35ac635567eff69102e9edfab39b026cd3059aa4341a49bf"),
        ("DCGAN/AnimeDataset.py", "AnimeDataset.py", 980,
         "cd7a68e4e9facd3d3d5152e7f5d21c2def2e2c8a1f93958651d343631f5c051d"),
        ("DCGAN/utils.py", "utils.py", 1256,
         "932960b5fb6162eded9a8ed48bd51e451c69e610b4b4b3d8fffe9cad4229bcbb")]),
    "wgan": _original("anime/WGAN_keras", "FangYang970206/Anime_GAN", "42c0315", [
        ("WGAN_keras/wgan_keras.py", "wgan_keras.py", 4678,
         "3ae6587bf8817ec1aa60f48b306fd32a3141e9c73077c58d2c0d4c9e4ff04cc9")]),
    "pix2pix": _original("pix2pix", "affinelayer/pix2pix-tensorflow", "0f21744", [
        ("pix2pix.py", "pix2pix.py", 35609,
         "a70a4b617df7bf9b94332c692ac7d1d04b350f0494dda970a98c91f8608db39f")]),
}
