"""The demo's simulation: builds the network from model.py (as rewritten for this point) and reports
its firing rate over simulated time (a series) and, at the end, the rate and a loss against a target
rate, following gitgrid's run contract (docs/run.md)."""

import json
import math
import os

from model import Network

TARGET_RATE = 2.0

net = Network()
rate = net.rate()
with open(os.path.join(os.environ["GITGRID_RUN_DIR"], "summary.txt"), "w") as out:
    out.write(f"param1={net.param1} param2={net.param2} param3={net.param3} rate={rate}\n")
with open(os.environ["GITGRID_SERIES"], "w") as series:  # the rate settling over simulated time
    for step in range(0, 200, 10):
        settled = rate * (1 - math.exp(-step / 40))
        series.write(json.dumps({"step": step, "t": step * 0.01, "rate": round(settled, 6)}) + "\n")
with open(os.environ["GITGRID_RESULT"], "w") as result:
    json.dump({"rate": round(rate, 6), "loss": round((rate - TARGET_RATE) ** 2, 6)}, result)
print(f"point {os.environ['GITGRID_INDEX']}: rate {rate:.3f}")
