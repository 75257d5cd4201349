"""PyTorch's LBFGS(line_search_fn="strong_wolfe") on the problem that
tests/test_lbfgs.c writes: a 3-8(tanh)-1 regression net with MSE, full
batch, history 10, max_iter=1 per step (one step = one mynn epoch).
Input (one number per line after the header "n d hidden steps"): x, y,
then the parameters in mynn's order (layer weight [out x in], bias).
Prints "step k: p0 p1 ..." after each step."""
import sys

import torch


def main(path):
    with open(path) as f:
        n, d, h, steps = (int(v) for v in f.readline().split())
        vals = [float(line) for line in f]
    torch.set_num_threads(1)
    x = torch.tensor(vals[:n * d], dtype=torch.float32).reshape(n, d)
    y = torch.tensor(vals[n * d:n * d + n], dtype=torch.float32).reshape(n, 1)
    p = vals[n * d + n:]
    net = torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.Tanh(), torch.nn.Linear(h, 1))
    with torch.no_grad():
        at = 0
        for t in (net[0].weight, net[0].bias, net[2].weight, net[2].bias):
            t.copy_(torch.tensor(p[at:at + t.numel()], dtype=torch.float32).reshape(t.shape))
            at += t.numel()
    assert at == len(p), (at, len(p))
    opt = torch.optim.LBFGS(net.parameters(), lr=1, max_iter=1, history_size=10,
                            tolerance_grad=1e-7, tolerance_change=1e-9, line_search_fn="strong_wolfe")
    loss_fn = torch.nn.MSELoss()

    def closure():
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        return loss

    for k in range(steps):
        opt.step(closure)
        flat = torch.cat([t.detach().reshape(-1) for t in
                          (net[0].weight, net[0].bias, net[2].weight, net[2].bias)])
        print("step %d: %s" % (k, " ".join("%.9g" % v for v in flat.tolist())))


if __name__ == "__main__":
    main(sys.argv[1])
