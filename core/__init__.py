"""The floor every stage stands on: errors, IO, hashing, the dataset and run formats, splits, versions,
progress bars, executors and YAML / method-config loading. It imports no stage (datagen, methods,
metrics, leaderboards, bench) and no heavy library at import time."""
