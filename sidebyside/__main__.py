"""Run an original tutorial program, unmodified, in its own framework beside its port:
`python -m sidebyside PROGRAM --data PATH [--original PATH] [--steps N] [--batch-size B]
[--keep-dropout] [--output-dir DIR]`.

The original runs in its environment (`make originals`) with the hooks a comparison needs (the
same data; its random draws recorded; its initial weights written in its own format), then the
port starts from those weights (the program's import_original) and trains on the same batches.
Printed: each step's losses of both and their relative difference, the largest difference of
every variable after the last step, the time per step; written: side_by_side.png (the
original's samples beside the port's, from the same latents). Exit 0 within tolerance, 1
naming the first step and tensor that diverged.
"""
from sidebyside.harness import main

if __name__ == "__main__":
    main()
