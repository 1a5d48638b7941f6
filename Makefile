# gan-tutorials-keras3: set-up, tests and one train target per tutorial program.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test test-all train-acgan train-ogan train-dcgan train-dcgan-mnist train-anime train-wgan train-pix2pix train-colorize

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
