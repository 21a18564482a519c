#!/usr/bin/env python3
"""The PyTorch peer of the webgpu-batchnorm bench: reads a JSON spec on stdin, times the same workloads, prints one JSON object.

  echo '{"reps": 5, "matmul": [{"m": 50, "n": 100, "k": 3072, "transA": false, "transB": false}]}' | python3 bench/peers/torch-peer.py

CUDA when torch has it (CUDA events; TF32 off; fused Adam, else foreach; the step also captured in a CUDA graph), else the
CPU (perf_counter; foreach Adam). Data: the bench's own generator (bench/sections/types.ts makeRandom), so the same numbers.
Without torch it prints {"reason": ...} and exits 0: a peer that cannot run is not an error. The seed's sweep is
torch_sweep.py beside this file (a copy of the peer elsewhere, e.g. packed with gpu-pack --with, takes both files).
"""
import json
import sys
import time

M32 = 0xFFFFFFFF


def main():
    spec = json.load(sys.stdin)
    try:
        import torch
    except Exception as e:  # noqa: BLE001 - any import failure means "cannot run"
        print(json.dumps({"reason": f"no torch at {sys.executable} ({type(e).__name__}: {e})"}))
        return
    Peer(torch, spec).run()


class Peer:
    def __init__(self, torch, spec):
        self.torch, self.spec, self.reps = torch, spec, int(spec.get("reps", 10))
        self.cuda = torch.cuda.is_available()
        self.dev = torch.device("cuda" if self.cuda else "cpu")
        if self.cuda:
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        name = torch.cuda.get_device_name(0) if self.cuda else f"{torch.get_num_threads()} threads"
        self.out = {
            "name": f"PyTorch {torch.__version__} ({'CUDA ' + str(torch.version.cuda) if self.cuda else 'CPU'}, {name})",
            "device": "cuda" if self.cuda else "cpu",
            "timer": "CUDA events" if self.cuda else "time.perf_counter (CPU ops are synchronous)",
            "tf32": False,
            "threads": torch.get_num_threads(),
        }

    def run(self):
        s = self.spec
        self.out["matmul"] = [self.matmul(x) for x in s.get("matmul", [])]
        self.out["bn"] = [self.bn(x) for x in s.get("bn", [])]
        self.out["training"] = [self.training(x) for x in s.get("training", [])]
        self.out["population"] = [self.population(x) for x in s.get("population", [])]
        if s.get("sweep"):
            from torch_sweep import sweep  # beside this file (its folder is on sys.path when run as a script)

            self.out["sweep"] = sweep(self, s["sweep"])
        print(json.dumps(self.out))

    # -- helpers -------------------------------------------------------------------------------------------------
    def lcg(self, n, seed):
        """States s_1..s_n of s = (1664525 s + 1013904223) mod 2^32 from `seed`, by doubling (no int64 overflow)."""
        t = self.torch
        x = t.empty(n, dtype=t.int64)
        s0 = (seed & M32) or 1
        x[0] = (1664525 * s0 + 1013904223) & M32
        A, C, L = 1664525, 1013904223, 1
        while L < n:
            k = min(L, n - L)
            lo, hi = A & 0xFFFF, A >> 16
            src = x[:k]
            x[L : L + k] = (lo * src + (((hi * src) & 0xFFFF) << 16) + C) & M32
            A, C, L = (A * A) & M32, (A * C + C) & M32, L + k
        return x

    def make_random(self, n, seed):
        return (self.lcg(n, seed).double() / 2**31 - 1).float()

    def sync(self):
        if self.cuda:
            self.torch.cuda.synchronize()

    def time_ms(self, fn, reps, warmup=2):
        """Median and best ms of fn() over reps, after warm-ups."""
        t = self.torch
        for _ in range(warmup):
            fn()
        self.sync()
        xs = []
        for _ in range(reps):
            if self.cuda:
                a, b = t.cuda.Event(enable_timing=True), t.cuda.Event(enable_timing=True)
                a.record()
                fn()
                b.record()
                b.synchronize()
                xs.append(a.elapsed_time(b))
            else:
                t0 = time.perf_counter()
                fn()
                xs.append((time.perf_counter() - t0) * 1e3)
        xs.sort()
        return {"medianMs": xs[len(xs) // 2], "minMs": xs[0]}

    def finite(self, *ts):
        for x in ts:
            if not bool(self.torch.isfinite(x).all()):
                raise RuntimeError("torch peer: non-finite result")

    def adam(self, params, capturable=False):
        t = self.torch
        kw = {"lr": 1e-3}
        if capturable:
            kw["capturable"] = True
        if self.cuda:
            try:
                return t.optim.Adam(params, fused=True, **kw), "fused"
            except (TypeError, RuntimeError):
                pass
        try:
            return t.optim.Adam(params, foreach=True, **kw), "foreach"
        except TypeError:
            return t.optim.Adam(params, **kw), "default"

    # -- workloads -----------------------------------------------------------------------------------------------
    def matmul(self, s):
        m, n, k, ta, tb = s["m"], s["n"], s["k"], s["transA"], s["transB"]
        a = self.make_random(m * k, 1 + m).reshape((k, m) if ta else (m, k)).to(self.dev)
        b = self.make_random(k * n, 2 + n).reshape((n, k) if tb else (k, n)).to(self.dev)
        A, B = (a.t() if ta else a), (b.t() if tb else b)
        c = self.torch.empty(m, n, device=self.dev)
        r = self.time_ms(lambda: self.torch.matmul(A, B, out=c), self.reps)
        self.finite(c)
        return {**{key: s[key] for key in ("m", "n", "k", "transA", "transB")}, **r}

    def bn(self, s):
        t, n, d = self.torch, s["n"], s["d"]
        x = self.make_random(n * d, 15).reshape(n, d).to(self.dev).requires_grad_()
        dout = self.make_random(n * d, 11).reshape(n, d).to(self.dev)
        gamma = (0.5 + self.make_random(d, 14).abs()).to(self.dev).requires_grad_()
        beta = t.zeros(d, device=self.dev, requires_grad=True)
        y = t.nn.functional.batch_norm(x, None, None, gamma, beta, training=True, eps=1e-5)
        grads = []
        r = self.time_ms(lambda: grads.append(t.autograd.grad(y, (x, gamma, beta), dout, retain_graph=True)), self.reps)
        self.finite(*grads[-1])
        return {"n": n, "d": d, **r, "what": "autograd of F.batch_norm (dx, dgamma, dbeta)"}

    def data(self, rows, seed=7):
        """bench/sections/training.ts makeData: uint8 images then labels from one generator, the mean image 127.5."""
        st = self.lcg(rows * 3072 + rows, seed)
        X = ((st[: rows * 3072] >> 24).float() - 127.5).reshape(rows, 3072).to(self.dev)
        y = (st[rows * 3072 :] % 10).to(self.dev)
        return X, y

    def indices(self, count, batch, rows):
        return (self.lcg(count * batch, 1) % rows).reshape(count, batch).to(self.dev)

    def timed_steps(self, step, idx, warm, steps):
        """Wall clock per step over `steps` queued steps up to the last loss read back (as ours), after `warm` steps."""
        for i in range(warm):
            step(idx[i])
        self.sync()
        t0 = time.perf_counter()
        losses = [step(idx[warm + i]) for i in range(steps)]
        last = self.torch.stack(losses).cpu()
        ms = (time.perf_counter() - t0) * 1e3 / steps
        self.finite(last)
        return ms

    def eager_steps(self, opt, loss_of, idx, warm, steps):
        """The step as a PyTorch user writes it (zero_grad, loss_of(i), backward, `opt` steps), timed by timed_steps."""

        def step(i):
            opt.zero_grad(set_to_none=True)
            loss = loss_of(i)
            loss.backward()
            opt.step()
            return loss.detach()

        return self.timed_steps(step, idx, warm, steps)

    def graph_steps(self, loss_of, params, idx, warm, steps):
        """The whole step (forward, backward, capturable Adam) captured once in a CUDA graph and replayed."""
        t = self.torch
        opt, _ = self.adam(params, capturable=True)
        static_idx = idx[0].clone()

        def body():
            opt.zero_grad(set_to_none=False)
            loss = loss_of(static_idx)
            loss.backward()
            opt.step()
            return loss

        side = t.cuda.Stream()
        side.wait_stream(t.cuda.current_stream())
        with t.cuda.stream(side):
            for i in range(3):
                static_idx.copy_(idx[i])
                body()
        t.cuda.current_stream().wait_stream(side)
        g = t.cuda.CUDAGraph()
        with t.cuda.graph(g):
            static_loss = body()

        def step(i):
            static_idx.copy_(i)
            g.replay()
            return static_loss.clone()

        return self.timed_steps(step, idx, warm, steps)

    def training(self, s):
        t, nn = self.torch, self.torch.nn
        dims, bn, batch, steps = [3072, *s["hiddenDims"], 10], s["useBatchnorm"], s["batch"], s["steps"]
        rows = s.get("rows", 1000)
        X, y = self.data(rows)
        idx = self.indices(3 + steps, batch, rows)

        def make_net():
            t.manual_seed(1)
            layers = []
            for i in range(len(dims) - 1):
                lin = nn.Linear(dims[i], dims[i + 1])
                with t.no_grad():
                    lin.weight.normal_(0, 2e-2)
                    lin.bias.zero_()
                layers.append(lin)
                if i < len(dims) - 2:
                    layers += [nn.BatchNorm1d(dims[i + 1], eps=1e-5)] if bn else []
                    layers.append(nn.ReLU())
            return nn.Sequential(*layers).to(self.dev)

        net = make_net()
        opt, kind = self.adam(list(net.parameters()))
        eager = self.eager_steps(opt, lambda i: nn.functional.cross_entropy(net(X[i]), y[i]), idx, 3, steps)
        graph = None
        if self.cuda:
            gnet = make_net()
            graph = self.graph_steps(lambda i: nn.functional.cross_entropy(gnet(X[i]), y[i]), list(gnet.parameters()), idx, 3, steps)
        return {"hiddenDims": s["hiddenDims"], "useBatchnorm": bn, "batch": batch, "steps": steps, "msPerStep": eager,
                "graphMsPerStep": graph, "adam": kind}

    def population(self, s):
        """`models` nets stacked: weights (P, din, dout), one bmm a layer, batchnorm per member, one Adam over the stacks."""
        t = self.torch
        P, dims, batch, steps = s["models"], [3072, *s["hiddenDims"], 10], s["batch"], s["steps"]
        rows = s.get("rows", 1000)
        X, y = self.data(rows)
        idx = self.indices(3 + steps, batch, rows)
        t0 = time.perf_counter()

        def make_params():
            t.manual_seed(1)
            ps = []
            for i in range(len(dims) - 1):
                ps.append((t.randn(P, dims[i], dims[i + 1], device=self.dev) * 2e-2).requires_grad_())
                ps.append(t.zeros(P, 1, dims[i + 1], device=self.dev, requires_grad=True))
                if s["useBatchnorm"] and i < len(dims) - 2:
                    ps.append(t.ones(P, 1, dims[i + 1], device=self.dev, requires_grad=True))
                    ps.append(t.zeros(P, 1, dims[i + 1], device=self.dev, requires_grad=True))
            return ps

        def loss_of(ps, i):
            h, k = X[i].expand(P, batch, 3072), 0
            for layer in range(len(dims) - 1):
                h = t.baddbmm(ps[k + 1], h, ps[k])
                k += 2
                if layer < len(dims) - 2:
                    if s["useBatchnorm"]:
                        mean, var = h.mean(1, keepdim=True), h.var(1, unbiased=False, keepdim=True)
                        h = (h - mean) * t.rsqrt(var + 1e-5) * ps[k] + ps[k + 1]
                        k += 2
                    h = t.relu(h)
            # the sum of the members' mean losses: each member's gradient is its own
            return t.nn.functional.cross_entropy(h.reshape(P * batch, 10), y[i].repeat(P), reduction="sum") / batch

        ps = make_params()
        opt, kind = self.adam(ps)
        self.sync()
        build_ms = (time.perf_counter() - t0) * 1e3
        eager = self.eager_steps(opt, lambda i: loss_of(ps, i), idx, 3, steps)
        graph = None
        if self.cuda:
            gps = make_params()
            graph = self.graph_steps(lambda i: loss_of(gps, i), gps, idx, 3, steps)
        return {"models": P, "hiddenDims": s["hiddenDims"], "batch": batch, "steps": steps, "msPerStep": eager,
                "graphMsPerStep": graph, "buildMs": build_ms, "adam": kind, "how": "stacked weights, bmm"}


if __name__ == "__main__":
    main()
