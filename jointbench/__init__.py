"""jointbench: edge-cloud collaborative inference benchmarks for KubeEdge Ianvs.

All real logic lives here (registry, embedded runner, network simulator, metrics,
methods); the files under ``testalgorithms/`` and ``testenv/`` are thin Ianvs shims.
"""

__version__ = "0.1.0"
