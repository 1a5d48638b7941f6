# gan-tutorials-keras3: set-up, tests and one train target per tutorial program.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test test-all data-lfw data-mnist data-mnist-npz data-celebA data-faces data-facades train-acgan train-ogan train-dcgan train-dcgan-mnist train-anime train-wgan train-pix2pix train-colorize

install: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# Two pytest processes at once on a 2-core machine, each on its share of the files
# (tests/parallel.py; PROCESSES=1 make test for one).
test: $(STAMP)
	$(PY) tests/parallel.py -q -m "not slow"

test-all: $(STAMP)
	$(PY) -m pytest -q tests

# Datasets: `make data-NAME` downloads NAME as common/datasets.py's table says (sources in
# order, SHA-256 checked, unpacked into place only when complete); a train target fetches its
# data when the folder is missing. celebA and the anime faces have no public mirror: their
# targets say where to put them.
data-lfw data-mnist data-mnist-npz data-facades data-celebA data-faces: $(STAMP)
	$(PY) -m common.download $(@:data-%=%) --data-dir data

# AC-GAN: MNIST's mnist.npz where keras.datasets looks for it (~/.keras/datasets), as the
# tutorial did (a no-op once it is there).
train-acgan: $(STAMP) data-mnist-npz
	$(PY) -m acgan_mnist.train --epochs 50

# O-GAN on LFW (the blog's data: lfw.tgz, 180.6 MB, from figshare).
train-ogan: $(STAMP) data/lfw
	$(PY) -m ogan_keras.train --data 'data/lfw/*/*.jpg'

data/lfw:
	$(MAKE) data-lfw

# DCGAN family: MNIST's four IDX files (11 MB), celebA and the anime faces by hand.

train-dcgan: $(STAMP) data/celebA
	$(PY) -m dcgan_tf.train --dataset celebA --input_height 108 --crop --train

train-dcgan-mnist: $(STAMP) data/mnist
	$(PY) -m dcgan_tf.train --dataset mnist --train

train-anime: $(STAMP) data/faces
	$(PY) -m dcgan_tf.train --arch anime --dataset faces --train

train-wgan: $(STAMP) data/faces
	$(PY) -m dcgan_tf.train --arch wgan --dataset faces --input_fname_pattern '*.jpg' --train

data/mnist:
	$(MAKE) data-mnist

data/celebA:
	$(MAKE) data-celebA

data/faces:
	$(MAKE) data-faces

# pix2pix: facades (the README's recipe, BtoA) and Lab colorization of any photo folder.
PHOTOS ?= data/photos

train-pix2pix: $(STAMP) data/facades
	$(PY) -m pix2pix_tf.train --mode train --input_dir data/facades/train \
	  --output_dir runs/facades_train --which_direction BtoA --max_epochs 200

data/facades:
	$(MAKE) data-facades

train-colorize: $(STAMP)
	@test -d $(PHOTOS) || { echo "error: put colour photos (*.jpg or *.png) in $(PHOTOS)," \
	  "or run make train-colorize PHOTOS=path/to/photos" >&2; exit 2; }
	$(PY) -m pix2pix_tf.train --mode train --input_dir $(PHOTOS) --output_dir runs/colorize \
	  --lab_colorization --max_epochs 50

# The original programs' own environments (TF 1.15 + Keras 2.2.4 / 2.1.2, PyTorch 1.0), built once
# under .originals/ (or $ORIGINALS_DIR) from a CPython 3.7 ($PYTHON37, python3.7 or pyenv's).
.PHONY: originals
originals:
	$(PYTHON) -m sidebyside.environments

# The browser test of pix2pix_tf.serve (tests/test_serve.py) drives Debian's chromium through its
# chromedriver; without them that test is skipped. Installs them (as root) when missing.
.PHONY: browser
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
	  echo "chromium and chromedriver are installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium chromium-driver; } || { echo "error: apt-get could not install chromium" \
	      "and chromium-driver (offline?); the browser test is skipped until they are" >&2; \
	      exit 2; }; \
	else \
	  echo "make browser: installing chromium needs root and apt-get (Debian/Ubuntu): run" \
	    "apt-get install chromium chromium-driver as root; the browser test is skipped until then"; \
	fi
