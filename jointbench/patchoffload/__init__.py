"""CRC-calibrated edge acceptance with APS-guided Grad-CAM patch offloading (edge CNN → server ViT).

Seed: ``shared/seeds/crc-aps-gradcam-patch-offload.md``; spec: ``shared/notes/methods-conformal.md`` §2.
Modules: ``calibration`` (Algorithm 1: CRC λ̂, APS q̂), ``candidates`` (APS set and weights),
``gradcam`` (aggregated-target Grad-CAM via captum, patch scores), ``selection`` (τ rule and the
Im et al. baselines), ``pipeline`` (Algorithm 2, messages, server on received patches), ``costs``
(communication cost and latency through the simulator), ``tradeoff``/``report``/``experiment``
(sweeps, operating points, Tables 1–2, plot), ``nets``/``training``/``models`` (the small offline
models), ``imagenet`` (the paper's configuration from local files), ``session``/``edge_step``/
``ianvs_metrics`` (the Ianvs face). See ``docs/patchoffload.md``.
"""
