# gan-tutorials-keras3: set-up, tests and one train target per tutorial program.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test test-all data-lfw train-acgan train-ogan train-dcgan train-dcgan-mnist train-anime train-wgan train-pix2pix train-colorize

install: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q -m "not slow" tests

test-all: $(STAMP)
	$(PY) -m pytest -q tests

# AC-GAN: MNIST through keras.datasets (cached in ~/.keras/datasets), as the tutorial did.
train-acgan: $(STAMP)
	$(PY) -m acgan_mnist.train --epochs 50

# O-GAN on LFW (the blog's data). data/lfw is fetched by `make data-lfw` when missing.
LFW_URL := http://vis-www.cs.umass.edu/lfw/lfw.tgz

train-ogan: $(STAMP) data/lfw
	$(PY) -m ogan_keras.train --data 'data/lfw/*/*.jpg'

data/lfw:
	$(MAKE) data-lfw

data-lfw: $(STAMP)
	$(PY) -m common.download $(LFW_URL) data/lfw
