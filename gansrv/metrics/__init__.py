"""Offline quality metrics of exported generators (``gansrv eval``), with no downloaded weights.

An evaluator (a small CNN trained on the user's own labelled training split, cached as ONNX) embeds
images; FID, KID and improved precision/recall compare generated and held-out real sets in that
embedding; class accuracy, CAS and the augmentation gain ask whether generated images carry their
labels. Modules: ``recipe`` (the classifier recipe), ``classifier`` (the CNN, torch),
``evaluator`` (cache + onnxruntime), ``distances`` (numpy), ``split`` (data), ``evaluate`` (one
run), ``record`` (figures into the model's metadata). Only ``classifier`` imports torch.
"""
