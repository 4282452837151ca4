"""Training: strategies, a custom distributed loop, the lab runner and its command line.

Submodules are imported on use (`keraslab.train.runner`, ...), so importing this package
stays cheap for `keraslab --help`.
"""
