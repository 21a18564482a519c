"""The seed's weight-scale sweep for the PyTorch peer (bench/peers/torch-peer.py runs it when its spec has a "sweep"):
a notebook user's sequential nets and an expert's stacked ones, timed whole, on the CIFAR-10 rows the bench writes.
"""
import time


def sweep(peer, s):
    """The seed's weight-scale sweep on the bench's CIFAR-10 rows (written by the bench to s["dataDir"]): for batchnorm and
    the baseline, one [50]x7 net per weight scale, Adam 1e-3, batch 50, `epochs` epochs, the Solver's accuracy checks
    (first step, each epoch end, last step: `numTrainSamples` training rows and every validation row, test mode).
    Sequentially, one nn.Sequential after another as a notebook user writes it, and batched, each kind's nets stacked
    (bmm, batchnorm per member with running statistics), as an expert writes it. Wall clock of each whole sweep."""
    t, nn, F = peer.torch, peer.torch.nn, peer.torch.nn.functional
    d = s["dataDir"]

    def load(name, dtype):
        with open(f"{d}/{name}", "rb") as f:
            return t.frombuffer(bytearray(f.read()), dtype=dtype)

    mean = load("mean.f32", t.float32)
    D = mean.numel()
    Xtr = (load("xtrain.u8", t.uint8).float().reshape(-1, D) - mean).to(peer.dev)
    ytr = load("ytrain.u8", t.uint8).long().to(peer.dev)
    Xva = (load("xval.u8", t.uint8).float().reshape(-1, D) - mean).to(peer.dev)
    yva = load("yval.u8", t.uint8).long().to(peer.dev)
    scales, batch, epochs, nsamp = s["scales"], s["batch"], s["epochs"], s["numTrainSamples"]
    dims = [D, *s["hiddenDims"], 10]
    n = Xtr.shape[0]
    per_epoch = max(n // batch, 1)
    iters = epochs * per_epoch
    checks = {0, iters - 1, *[(e + 1) * per_epoch - 1 for e in range(epochs)]}
    gen = t.Generator().manual_seed(0)

    def rows(k, hi):
        return t.randint(hi, (k,), generator=gen).to(peer.dev)

    def check_rows():
        tr = rows(nsamp, n) if nsamp < n else t.arange(n, device=peer.dev)
        return tr, t.arange(Xva.shape[0], device=peer.dev)

    def sequential():
        accs = []
        for bn in (True, False):
            for scale in scales:
                t.manual_seed(1)
                layers = []
                for i in range(len(dims) - 1):
                    lin = nn.Linear(dims[i], dims[i + 1])
                    with t.no_grad():
                        lin.weight.normal_(0, scale)
                        lin.bias.zero_()
                    layers.append(lin)
                    if i < len(dims) - 2:
                        layers += [nn.BatchNorm1d(dims[i + 1], eps=1e-5, momentum=0.1)] if bn else []
                        layers.append(nn.ReLU())
                net = nn.Sequential(*layers).to(peer.dev)
                opt, _ = peer.adam(list(net.parameters()))
                for it in range(iters):
                    i = rows(batch, n)
                    opt.zero_grad(set_to_none=True)
                    F.cross_entropy(net(Xtr[i]), ytr[i]).backward()
                    opt.step()
                    if it in checks:
                        net.eval()
                        with t.no_grad():
                            tr, va = check_rows()
                            a = (net(Xtr[tr]).argmax(1) == ytr[tr]).float().mean()
                            b = (net(Xva[va]).argmax(1) == yva[va]).float().mean()
                            accs.append(float(a + b))
                        net.train()
        return accs

    def batched():
        accs = []
        P = len(scales)
        sc = t.tensor(scales, device=peer.dev).reshape(P, 1, 1)
        for bn in (True, False):
            t.manual_seed(1)
            ps, stats = [], []
            for i in range(len(dims) - 1):
                ps.append((t.randn(P, dims[i], dims[i + 1], device=peer.dev) * sc).requires_grad_())
                ps.append(t.zeros(P, 1, dims[i + 1], device=peer.dev, requires_grad=True))
                if bn and i < len(dims) - 2:
                    ps.append(t.ones(P, 1, dims[i + 1], device=peer.dev, requires_grad=True))
                    ps.append(t.zeros(P, 1, dims[i + 1], device=peer.dev, requires_grad=True))
                    stats.append([t.zeros(P, 1, dims[i + 1], device=peer.dev), t.ones(P, 1, dims[i + 1], device=peer.dev)])
            opt, _ = peer.adam(ps)

            def scores(x, train):
                h, k = x.expand(P, *x.shape), 0
                for layer in range(len(dims) - 1):
                    h = t.baddbmm(ps[k + 1], h, ps[k])
                    k += 2
                    if layer < len(dims) - 2:
                        if bn:
                            rm, rv = stats[layer]
                            if train:
                                mu, var = h.mean(1, keepdim=True), h.var(1, unbiased=False, keepdim=True)
                                with t.no_grad():
                                    rm.mul_(0.9).add_(0.1 * mu)
                                    rv.mul_(0.9).add_(0.1 * var)
                            else:
                                mu, var = rm, rv
                            h = (h - mu) * t.rsqrt(var + 1e-5) * ps[k] + ps[k + 1]
                            k += 2
                        h = t.relu(h)
                return h

            for it in range(iters):
                i = rows(batch, n)
                opt.zero_grad(set_to_none=True)
                out = scores(Xtr[i], True)
                (F.cross_entropy(out.reshape(P * batch, 10), ytr[i].repeat(P), reduction="sum") / batch).backward()
                opt.step()
                if it in checks:
                    with t.no_grad():
                        tr, va = check_rows()
                        a = (scores(Xtr[tr], False).argmax(2) == ytr[tr]).float().mean(1)
                        b = (scores(Xva[va], False).argmax(2) == yva[va]).float().mean(1)
                        accs.append(a + b)
        return accs

    t0 = time.perf_counter()
    seq = sequential()
    peer.sync()
    seq_ms = (time.perf_counter() - t0) * 1e3
    t1 = time.perf_counter()
    bat = batched()
    peer.sync()
    bat_ms = (time.perf_counter() - t1) * 1e3
    peer.finite(t.tensor(seq), t.stack(bat))
    return {"models": 2 * len(scales), "steps": iters, "epochs": epochs, "sequentialMs": seq_ms, "batchedMs": bat_ms,
            "how": "sequential: one nn.Sequential per net; batched: each kind's nets stacked (bmm)"}
