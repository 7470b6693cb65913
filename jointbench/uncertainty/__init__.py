"""Uncertainty-token edge-cloud collaboration (CD-CCA, CVPR 2024) carried to text LLMs on TeleQnA.

Modules, one job each:

* :mod:`~jointbench.uncertainty.selection`: UTS-1 (sample confidence, threshold tau), UTS-2 (keep
  the most uncertain fraction m of tokens), AUROC.
* :mod:`~jointbench.uncertainty.lm` / :mod:`~jointbench.uncertainty.edge`: SmolLM2 split into a
  cached frozen trunk and a trainable tail; option-letter answers; MC-dropout and entropy token scores.
* :mod:`~jointbench.uncertainty.payload`: the uplink message (ids, positions, features) as bytes.
* :mod:`~jointbench.uncertainty.cloud`: replayed Qwen2-7B answers by replacement or token-level fusion.
* :mod:`~jointbench.uncertainty.update` / :mod:`~jointbench.uncertainty.wavelet`: AKD fine-tuning
  (CE + MSE + db6 high-band L1) of LoRA or norms.
* :mod:`~jointbench.uncertainty.codec` / :mod:`~jointbench.uncertainty.bitio`: DWC downlink codec
  (top-rho, k-bit, index coding) and the dense fp16 baseline.
* :mod:`~jointbench.uncertainty.session`: the per-test-case loop; :mod:`~jointbench.uncertainty.endpoint`
  lets the Ianvs edge and cloud modules share it; :mod:`~jointbench.uncertainty.metrics`.

See ``docs/uncertainty.md``.
"""
