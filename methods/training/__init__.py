"""`bench train` for methods with a learned stage (``methods.base.TrainableMethod``).

``verb.train_method`` selects the split's samples and calls ``method.train(samples, out_dir)``; the method
builds its model, optimiser and step function and hands them to ``loop.run_training``, which owns the
loop: resume from the latest checkpoint (Ctrl-C / SIGTERM save one first), a rich progress bar, losses to
``log.csv`` (``logger``; TensorBoard when installed), and checkpoints (``checkpoints``) as safetensors
(weights + optimiser tensors; no pickle) with a JSON side-car (config, step, optimiser hyper-parameters).
``latest.json`` is written last, atomically, so an interrupted run resumes from the last complete checkpoint.
"""
