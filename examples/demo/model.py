"""A stand-in for a simulation: a network whose parameters are the assignments below.

gitgrid rewrites the `self.paramN = ...` lines in each point's commit; the working tree keeps these values.
"""


class Network:
    def __init__(self):
        self.param1 = 1.0  # excitatory weight
        self.param2 = 1.0  # inhibitory gain
        self.param3 = -1.0  # reversal potential offset
        self.weightEI = 3.0

    def rate(self):
        """A smooth made-up response, so that results differ from point to point."""
        return self.param1 * self.param2 / (1.0 + abs(self.param3) / 10.0)
