"""The training configs (Hydra), installed as ``nco.configs``: ``nco train experiment=NAME``."""
