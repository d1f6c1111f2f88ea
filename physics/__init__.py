"""Simulators shared by datagen and methods.

Importing this package is cheap: it imports neither warp nor torch. Submodules:

- ``physics.spring_mass``: differentiable spring-mass simulator (warp kernels, torch autograd).
- ``physics.binding``: Spring-Gaus eq. 15 inverse-distance binding of points to anchors.
- ``physics.errors``: ``SimulationDiverged``.
"""
