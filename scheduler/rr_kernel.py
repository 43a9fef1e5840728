"""Compiled ruin-and-recreate kernel (SISR: slack induction by string removals).

Christiaens & Vanden Berghe (2020): remove a few strings of consecutive visits around a
random seed visit and its neighbours, re-insert the removed (and any unassigned) visits one by
one at their cheapest feasible place while "blinking" over some places, and accept the new
plan by simulated annealing. Written for numba: the Python glue (``ruin_recreate.py``) calls
``run`` in short chunks, checks the clock between chunks and lowers the temperature.

Model (everything integer but the cost): customers ``c`` with a point, service duration,
one time window ``[twa, twb]`` on the start of service and a demand; vehicles ``v`` with a
start and end point, an earliest departure ``vE``, a latest return ``vL``, a capacity and the
customers they may serve (``allowed``). Travel times ``tt`` are integers, the cost ``cc`` is
the optimizer's arc cost. Per route the kernel keeps the earliest service start ``es`` of each
visit and the latest start ``ls`` that keeps the rest of the route on time, so whether a
customer fits between two visits is an O(1) test, and the load ``ld`` for capacity.

State arrays are ``(V, N + 1)`` route rows ``rt`` with lengths ``rl`` and the route of each
customer ``ru`` (-1: unassigned). Three copies: working, current (accepted) and best.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Parameters (SISR's names): average removed customers, maximum string length, probability
# of a split string instead of a plain one, probability that a split string keeps one more
# customer, blink rate.
C_BAR = 10.0
L_MAX = 10.0
SPLIT_RATE = 0.5
SPLIT_DEPTH = 0.5
BLINK = 0.01
LOG_NO_BLINK = np.log(1.0 - BLINK)  # positions between blinks are geometric
# Insertion looks first at the routes of this many nearest neighbours (and empty routes).
K_INSERT = 40


def _jit(fn=None, **kw):
    """njit with an on-disk cache; without any writable cache location, compile in memory.

    numba caches next to the module, else in the user cache dir, or where NUMBA_CACHE_DIR
    says; when none of them is writable it refuses ``cache=True`` with a RuntimeError.
    """
    if fn is None:
        return lambda f: _jit(f, **kw)
    try:
        return njit(cache=True, nogil=True, **kw)(fn)
    except RuntimeError:
        return njit(nogil=True, **kw)(fn)


@_jit
def schedule(v, rt, rl, es, ls, ld, rc, cpt, svc, twa, twb, dem, tt, cc, vsp, vep, vE, vL):
    """Recompute route ``v``'s earliest starts, latest starts, load and cost; feasible?"""
    n = rl[v]
    ok = True
    t = vE[v]
    p = vsp[v]
    load = 0
    cost = 0.0
    for k in range(n):
        c = rt[v, k]
        q = cpt[c]
        s = t + tt[p, q]
        if s < twa[c]:
            s = twa[c]
        if s > twb[c]:
            ok = False
        es[v, k] = s
        t = s + svc[c]
        cost += cc[p, q]
        load += dem[c]
        p = q
    if n > 0:
        cost += cc[p, vep[v]]
    if t + tt[p, vep[v]] > vL[v]:
        ok = False
    lat = vL[v]
    nq = vep[v]
    for k in range(n - 1, -1, -1):
        c = rt[v, k]
        q = cpt[c]
        x = lat - tt[q, nq] - svc[c]
        if x > twb[c]:
            x = twb[c]
        ls[v, k] = x
        lat = x
        nq = q
    ld[v] = load
    rc[v] = cost
    return ok


@_jit(inline="always")
def _fits(v, k, c, rt, rl, es, ls, cpt, svc, twa, twb, tt, vsp, vep, vE, vL):
    """Can customer ``c`` be visited just before position ``k`` of route ``v`` (O(1))?"""
    if k == 0:
        pe = vE[v]
        p = vsp[v]
    else:
        b = rt[v, k - 1]
        pe = es[v, k - 1] + svc[b]
        p = cpt[b]
    q = cpt[c]
    s = pe + tt[p, q]
    if s < twa[c]:
        s = twa[c]
    if s > twb[c]:
        return False
    f = s + svc[c]
    if k == rl[v]:
        return f + tt[q, vep[v]] <= vL[v]
    nx = rt[v, k]
    sn = f + tt[q, cpt[nx]]
    if sn < twa[nx]:
        sn = twa[nx]
    return sn <= ls[v, k]


@_jit
def seed_rng(seed):
    np.random.seed(seed)


@_jit
def total_cost(rl, rc, ru, pen, fixed):
    cost = 0.0
    for v in range(rl.shape[0]):
        if rl[v] > 0:
            cost += rc[v] + fixed
    for c in range(ru.shape[0]):
        if ru[c] < 0:
            cost += pen[c]
    return cost


@_jit
def run(
    n_iter, temp, fixed,
    cpt, svc, twa, twb, dem, pen, depot_cost, adj, allowed,
    tt, cc, vsp, vep, vE, vL, cap,
    rt, rl, es, ls, ld, rc, ru,
    cur_rt, cur_rl, cur_rc, cur_ru,
    best_rt, best_rl, best_ru, stats,
):  # fmt: skip
    """``n_iter`` SISR iterations at temperature ``temp``.

    ``stats`` (float64): [0] current cost, [1] best cost, [2] the most unassigned customers a
    best plan may have, [3] iterations, [4] accepted, [5] best improvements.
    """
    nv = rl.shape[0]
    nc = cpt.shape[0]
    ruined = np.zeros(nv, dtype=np.bool_)
    touched = np.zeros(nv, dtype=np.bool_)
    cand = np.empty(nc, dtype=np.int64)
    keys = np.empty(nc, dtype=np.float64)
    row = np.empty(rt.shape[1], dtype=np.int64)
    mark = np.zeros(nv, dtype=np.int64)
    near = np.empty(nv, dtype=np.int64)
    stamp = 0
    blink = 0
    for _ in range(n_iter):
        ruined[:] = False
        touched[:] = False
        n_cand = 0
        # ---- ruin ---------------------------------------------------------------------
        n_assigned = 0
        n_used = 0
        for v in range(nv):
            if rl[v] > 0:
                n_used += 1
                n_assigned += rl[v]
        if n_assigned > 0:
            avg = n_assigned / n_used
            ls_max = min(L_MAX, avg)
            ks_max = 4.0 * C_BAR / (1.0 + ls_max) - 1.0
            ks = int(np.random.random() * ks_max) + 1
            seed = np.random.randint(nc)
            while ru[seed] < 0:
                seed = np.random.randint(nc)
            n_ruined = 0
            for a in range(adj.shape[1] + 1):
                c = seed if a == 0 else adj[seed, a - 1]
                v = ru[c]
                if v < 0 or ruined[v]:
                    continue
                card = rl[v]
                pos = 0
                while rt[v, pos] != c:
                    pos += 1
                lmax = min(float(card), ls_max)
                ln = int(np.random.random() * lmax) + 1
                keep_from = 0
                keep_to = 0  # positions [keep_from, keep_to) of the string stay
                if ln < card and np.random.random() < SPLIT_RATE:
                    m = 1
                    while m < card - ln and np.random.random() < SPLIT_DEPTH:
                        m += 1
                    span = ln + m
                else:
                    m = 0
                    span = ln
                lo = pos - np.random.randint(span)
                if lo < 0:
                    lo = 0
                if lo > card - span:
                    lo = card - span
                if m > 0:
                    keep_from = lo + 1 + np.random.randint(ln - 1) if ln > 1 else lo + 1
                    keep_to = keep_from + m
                n_row = 0
                n_out = 0
                for k in range(card):
                    x = rt[v, k]
                    if lo <= k < lo + span and not (keep_from <= k < keep_to):
                        cand[n_cand + n_out] = x
                        n_out += 1
                    else:
                        row[n_row] = x
                        n_row += 1
                for k in range(n_row):
                    rt[v, k] = row[k]
                rl[v] = n_row
                ruined[v] = True
                if schedule(v, rt, rl, es, ls, ld, rc, cpt, svc, twa, twb, dem, tt, cc,
                            vsp, vep, vE, vL):  # fmt: skip
                    for k in range(n_out):
                        ru[cand[n_cand + k]] = -1
                    n_cand += n_out
                    touched[v] = True
                else:
                    # The shortcut breaks a window (travel times without the triangle
                    # inequality): leave this route as it was.
                    for k in range(card):
                        rt[v, k] = cur_rt[v, k]
                    rl[v] = card
                    schedule(v, rt, rl, es, ls, ld, rc, cpt, svc, twa, twb, dem, tt, cc,
                             vsp, vep, vE, vL)  # fmt: skip
                n_ruined += 1
                if n_ruined >= ks:
                    break
        # Customers left out before this iteration compete for places too.
        base_cand = n_cand
        for c in range(nc):
            if ru[c] < 0:
                dup = False
                for k in range(base_cand):
                    if cand[k] == c:
                        dup = True
                        break
                if not dup:
                    cand[n_cand] = c
                    n_cand += 1
        # ---- recreate: order, then cheapest feasible place with blinks ----------------
        r = np.random.random()
        for k in range(n_cand):
            c = cand[k]
            if r < 4.0 / 11.0:
                keys[k] = np.random.random()
            elif r < 8.0 / 11.0:
                keys[k] = -dem[c] - np.random.random() * 1e-3
            elif r < 10.0 / 11.0:
                keys[k] = -depot_cost[c]
            else:
                keys[k] = depot_cost[c]
        order = np.argsort(keys[:n_cand])
        for oi in range(n_cand):
            c = cand[order[oi]]
            q = cpt[c]
            best = np.inf
            bv = -1
            bk = -1
            # Routes first where c's nearest neighbours are, and empty ones; all the others
            # only when none of those has room.
            stamp += 1
            n_r = 0
            for a in range(min(K_INSERT, adj.shape[1])):
                v = ru[adj[c, a]]
                if v >= 0 and mark[v] != stamp:
                    mark[v] = stamp
                    near[n_r] = v
                    n_r += 1
            for v in range(nv):
                if rl[v] == 0 and mark[v] != stamp:
                    mark[v] = stamp
                    near[n_r] = v
                    n_r += 1
            for rnd in range(2):
                if rnd == 1:
                    if bv >= 0:
                        break
                    n_r = 0
                    for v in range(nv):
                        if mark[v] != stamp:
                            near[n_r] = v
                            n_r += 1
                for ri in range(n_r):
                    v = near[ri]
                    if not allowed[c, v] or ld[v] + dem[c] > cap[v]:
                        continue
                    n = rl[v]
                    if n == 0:
                        d = cc[vsp[v], q] + cc[q, vep[v]] + fixed
                        if d < best and _fits(v, 0, c, rt, rl, es, ls, cpt, svc, twa, twb, tt,
                                              vsp, vep, vE, vL):  # fmt: skip
                            best, bv, bk = d, v, 0
                        continue
                    for k in range(n + 1):
                        blink -= 1
                        if blink < 0:
                            blink = int(np.log(np.random.random()) / LOG_NO_BLINK)
                            continue
                        p = vsp[v] if k == 0 else cpt[rt[v, k - 1]]
                        nx = vep[v] if k == n else cpt[rt[v, k]]
                        d = cc[p, q] + cc[q, nx] - cc[p, nx]
                        if d < best and _fits(v, k, c, rt, rl, es, ls, cpt, svc, twa, twb,
                                              tt, vsp, vep, vE, vL):  # fmt: skip
                            best, bv, bk = d, v, k
            if bv < 0:
                continue
            n = rl[bv]
            for k in range(n, bk, -1):
                rt[bv, k] = rt[bv, k - 1]
            rt[bv, bk] = c
            rl[bv] = n + 1
            ru[c] = bv
            touched[bv] = True
            schedule(bv, rt, rl, es, ls, ld, rc, cpt, svc, twa, twb, dem, tt, cc,
                     vsp, vep, vE, vL)  # fmt: skip
        # ---- accept or undo -------------------------------------------------------------
        delta = 0.0
        for v in range(nv):
            if touched[v]:
                if rl[v] > 0:
                    delta += rc[v] + fixed
                if cur_rl[v] > 0:
                    delta -= cur_rc[v] + fixed
        for k in range(n_cand):
            c = cand[k]
            if ru[c] < 0:
                delta += pen[c]
            if cur_ru[c] < 0:
                delta -= pen[c]
        new = stats[0] + delta
        stats[3] += 1
        if new < stats[0] - temp * np.log(np.random.random()):
            stats[0] = new
            stats[4] += 1
            for v in range(nv):
                if touched[v]:
                    for k in range(rl[v]):
                        cur_rt[v, k] = rt[v, k]
                    cur_rl[v] = rl[v]
                    cur_rc[v] = rc[v]
            n_out = 0
            for c in range(nc):
                cur_ru[c] = ru[c]
                if ru[c] < 0:
                    n_out += 1
            if new < stats[1] - 1e-9 and n_out <= stats[2]:
                stats[1] = new
                stats[5] += 1
                best_rt[:, :] = rt
                best_rl[:] = rl
                best_ru[:] = ru
        else:
            for v in range(nv):
                if touched[v]:
                    for k in range(cur_rl[v]):
                        rt[v, k] = cur_rt[v, k]
                    rl[v] = cur_rl[v]
                    schedule(v, rt, rl, es, ls, ld, rc, cpt, svc, twa, twb, dem, tt, cc,
                             vsp, vep, vE, vL)  # fmt: skip
                    for k in range(rl[v]):
                        ru[rt[v, k]] = v
            for k in range(n_cand):
                c = cand[k]
                if cur_ru[c] < 0:
                    ru[c] = -1
    return stats
