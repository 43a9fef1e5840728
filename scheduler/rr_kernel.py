"""Compiled ruin-and-recreate kernel (SISR: slack induction by string removals).

Christiaens & Vanden Berghe (2020): remove a few strings of consecutive visits around a
random seed visit and its neighbours, re-insert the removed (and any unassigned) visits one by
one at their cheapest feasible place while "blinking" over some places, and accept the new
plan by simulated annealing on the whole objective (unassigned penalties included). Written
for numba: the Python glue (``ruin_recreate.py``) calls ``run`` in short chunks, checks the
clock between chunks and lowers the temperature.

Model. Customers ``c`` have a point, a service duration per vehicle (``svc[v, c]``, level
dependent), up to ``W`` time windows on the start of service (``twa``/``twb``, ``nw``; a pinned
start is one window of one second), a demand, parts (``need``) and, when some van lacks them,
the warehouse stop that provides them (``whp``). Vehicles (technician-days) have a start and
end point, an earliest departure and a latest return (overtime allowance included), the
regular shift end (overtime is costed after it), a longest span, a capacity, van stock, lunch
breaks (window + duration) and absences.

A route is timed by ``timed``/``exact``, a port of ``scheduler.insertion.schedule``: the
same break rules, lazy first and eager when the lazy one fails (a break is taken when the
next visit would push it out of its window, or earlier when it fits into waiting time for
free; drives are split around breaks and absences), visits start as early as they can, a job whose parts the van no longer holds gets a warehouse stop right
before it. Its cost is the route's arc cost plus overtime, SLA lateness, per-technician
preferences (changes against the previous plan, continuity) and workload above the
technician's fair share.

Per route the kernel keeps the exact service starts ``es`` and a relaxed latest start ``ls``
(windows and return only, breaks ignored): a place for a customer passes an O(1) filter
first, the cheapest places by a lower bound of their cost are then re-timed exactly, until
the lower bound of the next place is no better than the best exact one.

State arrays are ``(V, N + 1)`` route rows ``rt`` with lengths ``rl`` and the route of each
customer ``ru`` (-1: unassigned). Three copies: working, current (accepted) and best.
Customers with ``fixed`` set (started jobs) are never removed and nothing is inserted before
them.
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
# Exact re-timings in a row that may fail before a customer's insertion gives up.
EXACT_TRIES = 8
# About this many of the customers left out before an iteration compete for places in it
# (all of them on an overbooked day would make every iteration scan every route).
OPEN_TRIES = 16.0
NONE = -(2**60)  # "no feasible time"
INFEASIBLE = -1.0
PARTS = -2.0  # _plain: the route needs the stock bookkeeping of ``exact``
SHIFT_TRIES = 20  # as insertion.schedule: attempts to clear a visit of the pauses
# Local search between routes on each new best plan: each customer looks at this many nearest
# neighbours in other routes, for at most this many rounds over the routes a move changed.
K_LS = 10
LS_ROUNDS = 30


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


@_jit(inline="always")
def _wstart(t, wa, wb, r, n):
    """Earliest start >= t in the windows ``wa[r, :n]``/``wb[r, :n]`` (sorted; n=0: any)."""
    if n == 0:
        return t
    for i in range(n):
        if t <= wb[r, i]:
            return t if t > wa[r, i] else wa[r, i]
    return NONE


@_jit(inline="always")
def _wlatest(x, wa, wb, r, n):
    """Latest start <= x in the windows of row r (n=0: any)."""
    if n == 0:
        return x
    for i in range(n - 1, -1, -1):
        if wa[r, i] <= x:
            return x if x < wb[r, i] else wb[r, i]
    return NONE


@_jit
def _arrival(t0, travel, plo, phi, npa):
    """Arrival driving from t0, pausing for the pauses that end after t0 (sorted by start)."""
    t = t0
    rem = travel
    for i in range(npa):
        if phi[i] <= t0:
            continue
        gap = plo[i] - t
        if gap < 0:
            gap = 0
        drive = rem if rem < gap else gap
        t += drive
        rem -= drive
        if rem == 0:
            break
        if phi[i] > t:
            t = phi[i]
    return t + rem


@_jit
def _place(t0, travel, dur, wa, wb, r, n, plo, phi, npa):
    """Earliest service start of a visit reached from t0, clear of the pauses."""
    s = _wstart(_arrival(t0, travel, plo, phi, npa), wa, wb, r, n)
    for _ in range(SHIFT_TRIES):
        if s == NONE:
            return NONE
        mx = NONE
        for i in range(npa):
            if phi[i] > t0 and plo[i] < s + dur and phi[i] > s and phi[i] > mx:
                mx = phi[i]
        if mx == NONE:
            return s
        s = _wstart(mx, wa, wb, r, n)
    return NONE


@_jit
def _free_slot(t0, bs, be, bd, plo, phi, npa):
    """Earliest start >= t0 of a break (window [bs, be], duration bd) clear of the pauses."""
    s = t0 if t0 > bs else bs
    for _ in range(SHIFT_TRIES):
        mx = NONE
        for i in range(npa):
            if plo[i] < s + bd and phi[i] > s and phi[i] > mx:
                mx = phi[i]
        if mx == NONE:
            return s if s <= be else NONE
        s = mx
    return NONE


@_jit
def _insert_pause(lo, hi, plo, phi, npa):
    """Insert [lo, hi) into the sorted pauses; return its position."""
    k = npa
    while k > 0 and (plo[k - 1] > lo or (plo[k - 1] == lo and phi[k - 1] > hi)):
        plo[k] = plo[k - 1]
        phi[k] = phi[k - 1]
        k -= 1
    plo[k] = lo
    phi[k] = hi
    return k


@_jit
def _remove_pause(k, plo, phi, npa):
    for i in range(k, npa - 1):
        plo[i] = plo[i + 1]
        phi[i] = phi[i + 1]


@_jit
def _visit(
    t, p, nxt, dur, wa, wb, r, n, final, lazy, v, nb, bws, bwe, bdur, pend, plo, phi, npa, tt
):
    """Place one visit (or the return when ``final``) with the break rule.

    Eager (``insertion.schedule``'s rule): a pending break is taken before the visit when the
    visit would end after the break window, or whenever taking it now does not delay the
    visit (it then sits at its window start even if that lies after this visit). Lazy: the
    same, but a break taken without need must end before the visit starts (it fills waiting
    time), and the return home also forces it. Returns (service start or NONE, pause count).
    """
    travel = tt[p, nxt]
    s = _place(t, travel, dur, wa, wb, r, n, plo, phi, npa)
    if s == NONE:
        return NONE, npa
    for bi in range(nb[v]):
        if not pend[bi]:
            continue
        at = _free_slot(t, bws[v, bi], bwe[v, bi], bdur[v, bi], plo, phi, npa)
        must = s + dur > bwe[v, bi] and (lazy or not final)
        if at == NONE:
            if must:
                return NONE, npa
            continue
        k = _insert_pause(at, at + bdur[v, bi], plo, phi, npa)
        npa += 1
        s2 = _place(t, travel, dur, wa, wb, r, n, plo, phi, npa)
        if s2 != NONE and (must or (s2 == s and (not lazy or at + bdur[v, bi] <= s))):
            s = s2
            pend[bi] = False
        else:
            _remove_pause(k, plo, phi, npa)
            npa -= 1
            if must:
                return NONE, npa
    return s, npa


@_jit
def timed(v, row, n, out, wout, meta, d, scr_lo, scr_hi, pend, stock, pick):
    """Cost of route ``row[:n]`` on vehicle ``v`` with the lazy break rule, else the eager one.

    ``meta[3]`` says which rule timed it (1 lazy, 0 eager); INFEASIBLE when neither can.
    """
    if d[26][v] == 0 and d[30][v] == 0:  # no break, no absence
        cost = _plain(v, row, n, out, meta, d, pick)
        if cost != PARTS:
            meta[3] = 1
            return cost
    cost = exact(v, row, n, out, wout, meta, True, d, scr_lo, scr_hi, pend, stock, pick)
    meta[3] = 1
    if cost < 0:
        cost = exact(v, row, n, out, wout, meta, False, d, scr_lo, scr_hi, pend, stock, pick)
        meta[3] = 0
    return cost


@_jit
def _plain(v, row, n, out, meta, d, pick):
    """``exact`` for a vehicle without pauses: one forward pass, no pause bookkeeping.

    Gives the same starts, cost and ``meta`` as ``exact`` (both break rules agree when there
    is no break); returns PARTS when a visit needs parts (``exact`` handles the stock).
    """
    (cpt, svc, twa, twb, nw, dem, sla, slaw, pref, nomdur, hasparts, need, whp, whsvc,
     wha, whb, whn, vsp, vep, vE, vL, vS, otc, vmax, cap, vstock, nb, bws, bwe, bdur,
     na, aS, aE, target, balw, tt, cc) = d  # fmt: skip
    t = vE[v]
    p = vsp[v]
    load = 0
    work = 0
    cost = 0.0
    start = t
    for k in range(n):
        c = row[k]
        if hasparts[c]:
            return PARTS
        q = cpt[c]
        s = _wstart(t + tt[p, q], twa, twb, c, nw[c])
        if s == NONE:
            return INFEASIBLE
        if k == 0 and s - tt[p, q] > start:
            start = s - tt[p, q]
        out[k] = s
        pick[k] = False
        cost += cc[p, q] + pref[v, c]
        if s > sla[c]:
            cost += slaw * (s - sla[c])
        load += dem[c]
        work += nomdur[c]
        t = s + svc[v, c]
        p = q
    end = t + tt[p, vep[v]]
    cost += cc[p, vep[v]]
    if end > vL[v] or end - start > vmax[v] or load > cap[v]:
        return INFEASIBLE
    meta[0] = start
    meta[1] = end
    meta[2] = 0
    if end > vS[v]:
        cost += otc[v] * (end - vS[v])
    if work > target[v]:
        cost += balw * (work - target[v])
    return cost


@_jit
def exact(v, row, n, out, wout, meta, lazy, d, scr_lo, scr_hi, pend, stock, pick):
    """Time route ``row[:n]`` of vehicle ``v`` exactly; return its cost (INFEASIBLE: < 0).

    ``out[k]`` gets the service start of visit k, ``pick[k]`` whether a warehouse stop
    precedes it and ``wout[k]`` that stop's start; ``meta`` [0] departure, [1] return,
    [2] the number of pauses (absences and breaks) left sorted in ``scr_lo``/``scr_hi``.
    ``d`` is the tuple of static arrays (see ``ruin_recreate._Arrays.kernel``).
    """
    (cpt, svc, twa, twb, nw, dem, sla, slaw, pref, nomdur, hasparts, need, whp, whsvc,
     wha, whb, whn, vsp, vep, vE, vL, vS, otc, vmax, cap, vstock, nb, bws, bwe, bdur,
     na, aS, aE, target, balw, tt, cc) = d  # fmt: skip
    npa = 0
    for a in range(na[v]):
        _insert_pause(aS[v, a], aE[v, a], scr_lo, scr_hi, npa)
        npa += 1
    for bi in range(nb[v]):
        pend[bi] = True
    for q in range(stock.shape[0]):
        stock[q] = vstock[v, q]
    t = vE[v]
    p = vsp[v]
    load = 0
    work = 0
    cost = 0.0
    first_s = NONE
    first_travel = 0
    for k in range(n + 1):
        final = k == n
        if final:
            s, npa = _visit(t, p, vep[v], 0, twa, twb, 0, 0, True, lazy, v, nb, bws, bwe, bdur,
                            pend, scr_lo, scr_hi, npa, tt)  # fmt: skip
            if s == NONE:
                return INFEASIBLE
            end = _arrival(t, tt[p, vep[v]], scr_lo, scr_hi, npa)
            cost += cc[p, vep[v]]
            for bi in range(nb[v]):
                if pend[bi]:
                    t0 = end if end > t else t
                    at = _free_slot(t0, bws[v, bi], bwe[v, bi], bdur[v, bi], scr_lo, scr_hi, npa)
                    if at == NONE:
                        return INFEASIBLE
                    _insert_pause(at, at + bdur[v, bi], scr_lo, scr_hi, npa)
                    npa += 1
            start = vE[v]
            if n > 0:
                clear = True
                for i in range(npa):
                    if start <= scr_lo[i] < first_s:
                        clear = False
                        break
                if clear and first_s - first_travel > start:
                    start = first_s - first_travel
            if end > vL[v] or end - start > vmax[v] or load > cap[v]:
                return INFEASIBLE
            meta[0] = start
            meta[1] = end
            meta[2] = npa
            if end > vS[v]:
                cost += otc[v] * (end - vS[v])
            if work > target[v]:
                cost += balw * (work - target[v])
            return cost
        c = row[k]
        q = cpt[c]
        pick[k] = False
        if hasparts[c]:
            short = False
            for x in range(need.shape[1]):
                if need[c, x] > stock[x]:
                    short = True
                    break
            if short:
                if whp[c] < 0:
                    return INFEASIBLE
                w = whp[c]
                s, npa = _visit(t, p, w, whsvc[c], wha, whb, c, whn[c], False, lazy, v, nb, bws,
                                bwe, bdur, pend, scr_lo, scr_hi, npa, tt)  # fmt: skip
                if s == NONE:
                    return INFEASIBLE
                if first_s == NONE:
                    first_s = s
                    first_travel = tt[p, w]
                cost += cc[p, w]
                t = s + whsvc[c]
                p = w
                pick[k] = True
                wout[k] = s
            else:
                for x in range(need.shape[1]):
                    stock[x] -= need[c, x]
        dur = svc[v, c]
        s, npa = _visit(t, p, q, dur, twa, twb, c, nw[c], False, lazy, v, nb, bws, bwe, bdur,
                        pend, scr_lo, scr_hi, npa, tt)  # fmt: skip
        if s == NONE:
            return INFEASIBLE
        if first_s == NONE:
            first_s = s
            first_travel = tt[p, q]
        out[k] = s
        cost += cc[p, q] + pref[v, c]
        if s > sla[c]:
            cost += slaw * (s - sla[c])
        load += dem[c]
        work += nomdur[c]
        t = s + dur
        p = q
    return INFEASIBLE  # pragma: no cover


@_jit
def schedule(v, rt, rl, es, ls, ld, rc, d, scr_lo, scr_hi, pend, stock, pick, wout, meta):
    """Re-time route ``v``: exact starts, relaxed latest starts, load, cost; feasible?"""
    (cpt, svc, twa, twb, nw, dem, sla, slaw, pref, nomdur, hasparts, need, whp, whsvc,
     wha, whb, whn, vsp, vep, vE, vL, vS, otc, vmax, cap, vstock, nb, bws, bwe, bdur,
     na, aS, aE, target, balw, tt, cc) = d  # fmt: skip
    n = rl[v]
    cost = timed(v, rt[v], n, es[v], wout, meta, d, scr_lo, scr_hi, pend, stock, pick)
    load = 0
    lat = vL[v]
    nq = vep[v]
    for k in range(n - 1, -1, -1):
        c = rt[v, k]
        q = cpt[c]
        load += dem[c]
        x = _wlatest(lat - tt[q, nq] - svc[v, c], twa, twb, c, nw[c])
        ls[v, k] = x
        lat = x
        nq = q
    ld[v] = load
    rc[v] = cost if cost >= 0 else 0.0
    return cost >= 0


@_jit(inline="always")
def _fits(v, k, c, rt, rl, es, ls, d):
    """Relaxed O(1) test: can ``c`` go just before position ``k`` of route ``v``?

    Breaks, absences, warehouse detours and the longest span are left out (a later exact
    re-timing decides); returns the start it would get at the earliest, or NONE.
    """
    (cpt, svc, twa, twb, nw, dem, sla, slaw, pref, nomdur, hasparts, need, whp, whsvc,
     wha, whb, whn, vsp, vep, vE, vL, vS, otc, vmax, cap, vstock, nb, bws, bwe, bdur,
     na, aS, aE, target, balw, tt, cc) = d  # fmt: skip
    if k == 0:
        pe = vE[v]
        p = vsp[v]
    else:
        b = rt[v, k - 1]
        pe = es[v, k - 1] + svc[v, b]
        p = cpt[b]
    q = cpt[c]
    s = _wstart(pe + tt[p, q], twa, twb, c, nw[c])
    if s == NONE:
        return NONE
    f = s + svc[v, c]
    if k == rl[v]:
        return s if f + tt[q, vep[v]] <= vL[v] else NONE
    nx = rt[v, k]
    sn = _wstart(f + tt[q, cpt[nx]], twa, twb, nx, nw[nx])
    if sn == NONE or sn > ls[v, k]:
        return NONE
    return s


@_jit(inline="always")
def _restore(v, rt, rl, es, ls, ld, rc, src_rt, src_rl, src_es, src_ls, src_ld, src_rc):
    """Copy route ``v`` and its timing (starts, latest starts, load, cost) from the src arrays."""
    n = src_rl[v]
    for k in range(n):
        rt[v, k] = src_rt[v, k]
        es[v, k] = src_es[v, k]
        ls[v, k] = src_ls[v, k]
    rl[v] = n
    ld[v] = src_ld[v]
    rc[v] = src_rc[v]


@_jit(inline="always")
def _ptat(v, k, rt, rl, cpt, vsp, vep):
    """Point of position ``k`` of route ``v``: its start point at -1, its end point at rl[v]."""
    if k < 0:
        return vsp[v]
    if k >= rl[v]:
        return vep[v]
    return cpt[rt[v, k]]


@_jit
def _pair(v1, n1, v2, n2, ra, rb, rt, rl, rc, fixed, d, oa, ob, scr_lo, scr_hi, pend, stock,
          pick, wout, meta):  # fmt: skip
    """Change of the objective when routes v1, v2 become ``ra[:n1]``, ``rb[:n2]``.

    Both rows are timed exactly (breaks, windows, parts, span, capacity); +inf when either
    one cannot be.
    """
    c1 = 0.0
    if n1 > 0:
        c1 = timed(v1, ra, n1, oa, wout, meta, d, scr_lo, scr_hi, pend, stock, pick)
        if c1 < 0:
            return np.inf
        c1 += fixed
    c2 = 0.0
    if n2 > 0:
        c2 = timed(v2, rb, n2, ob, wout, meta, d, scr_lo, scr_hi, pend, stock, pick)
        if c2 < 0:
            return np.inf
        c2 += fixed
    old = 0.0
    if rl[v1] > 0:
        old += rc[v1] + fixed
    if rl[v2] > 0:
        old += rc[v2] + fixed
    return c1 + c2 - old


@_jit
def _tails(v1, p1, v2, p2, rt, rl, ra, rb):
    """Rows of 2-opt*: v1 keeps its first p1 visits and takes v2's tail after p2, and back."""
    n1 = 0
    for k in range(p1):
        ra[n1] = rt[v1, k]
        n1 += 1
    for k in range(p2, rl[v2]):
        ra[n1] = rt[v2, k]
        n1 += 1
    n2 = 0
    for k in range(p2):
        rb[n2] = rt[v2, k]
        n2 += 1
    for k in range(p1, rl[v1]):
        rb[n2] = rt[v1, k]
        n2 += 1
    return n1, n2


@_jit
def _relocated(v1, i, v2, j, rt, rl, ra, rb):
    """Rows after moving visit i of route v1 to just before position j of route v2."""
    n1 = 0
    for k in range(rl[v1]):
        if k != i:
            ra[n1] = rt[v1, k]
            n1 += 1
    n2 = 0
    for k in range(rl[v2] + 1):
        if k == j:
            rb[n2] = rt[v1, i]
            n2 += 1
        if k < rl[v2]:
            rb[n2] = rt[v2, k]
            n2 += 1
    return n1, n2


@_jit
def _tails_lb(v1, p1, v2, p2, rt, rl, cpt, vsp, vep, cc):
    """Arc-cost change of the 2-opt* move of ``_tails`` (a lower bound filter, not exact)."""
    x1 = _ptat(v1, p1 - 1, rt, rl, cpt, vsp, vep)
    x2 = _ptat(v2, p2 - 1, rt, rl, cpt, vsp, vep)
    y1 = _ptat(v1, p1, rt, rl, cpt, vsp, vep)
    y2 = _ptat(v2, p2, rt, rl, cpt, vsp, vep)
    delta = -cc[x1, y1] - cc[x2, y2]
    if p2 < rl[v2]:
        delta += cc[x1, y2]
        z = cpt[rt[v2, rl[v2] - 1]]
        delta += cc[z, vep[v1]] - cc[z, vep[v2]]
    else:
        delta += cc[x1, vep[v1]]
    if p1 < rl[v1]:
        delta += cc[x2, y1]
        z = cpt[rt[v1, rl[v1] - 1]]
        delta += cc[z, vep[v2]] - cc[z, vep[v1]]
    else:
        delta += cc[x2, vep[v2]]
    return delta


@_jit
def descend(rt, rl, es, ls, ld, rc, ru, adj, allowed, fixc, nfix, fixed, d, active, changed,
            ra, rb, oa, ob, scr_lo, scr_hi, pend, stock, pick, wout, meta):  # fmt: skip
    """Local search between routes; return the change of the objective (<= 0).

    For each customer ``c`` on an ``active`` route and each of its ``K_LS`` nearest neighbours
    ``a`` on another route: relocate ``c`` next to ``a`` (before or after), and 2-opt* (swap
    the route tails so that ``c`` is followed by ``a``, or ``a`` by ``c``). A move whose
    arc-cost change is negative is timed exactly on both routes and made when the whole
    objective drops (first improvement). Started and pinned-before visits (``nfix``) stay,
    a customer only moves to a technician allowed to do it. Routes a move changes are set in
    ``changed`` and searched again in the next round.
    """
    (cpt, svc, twa, twb, nw, dem, sla, slaw, pref, nomdur, hasparts, need, whp, whsvc,
     wha, whb, whn, vsp, vep, vE, vL, vS, otc, vmax, cap, vstock, nb, bws, bwe, bdur,
     na, aS, aE, target, balw, tt, cc) = d  # fmt: skip
    nv = rl.shape[0]
    nc = cpt.shape[0]
    kn = min(K_LS, adj.shape[1])
    nxt = np.zeros(nv, dtype=np.bool_)
    total = 0.0
    for _ in range(LS_ROUNDS):
        moved = False
        for c in range(nc):
            v1 = ru[c]
            if v1 < 0 or not active[v1]:
                continue
            for ai in range(kn):
                a = adj[c, ai]
                v2 = ru[a]
                if v2 < 0 or v2 == v1:
                    continue
                i = 0
                while rt[v1, i] != c:
                    i += 1
                j = 0
                while rt[v2, j] != a:
                    j += 1
                q = cpt[c]
                best = 0.0
                n1 = -1
                n2 = -1
                # Relocate c just before a (x = 0) or just after it (x = 1).
                if not fixc[c] and allowed[c, v2]:
                    pc = _ptat(v1, i - 1, rt, rl, cpt, vsp, vep)
                    nc1 = _ptat(v1, i + 1, rt, rl, cpt, vsp, vep)
                    out = cc[pc, q] + cc[q, nc1] - cc[pc, nc1] + pref[v1, c]
                    if rl[v1] == 1:
                        out += fixed
                    for x in range(2):
                        k = j + x
                        if k < nfix[v2]:
                            continue
                        p = _ptat(v2, k - 1, rt, rl, cpt, vsp, vep)
                        nx = _ptat(v2, k, rt, rl, cpt, vsp, vep)
                        lb = cc[p, q] + cc[q, nx] - cc[p, nx] + pref[v2, c] - out
                        if lb >= -1e-9:
                            continue
                        m1, m2 = _relocated(v1, i, v2, k, rt, rl, ra, rb)
                        dl = _pair(v1, m1, v2, m2, ra, rb, rt, rl, rc, fixed, d, oa, ob,
                                   scr_lo, scr_hi, pend, stock, pick, wout, meta)  # fmt: skip
                        if dl < best - 1e-6:
                            best, n1, n2 = dl, m1, m2
                            break
                # 2-opt*: c then a (v1 keeps up to c, takes a's tail), or a then c.
                if n1 < 0:
                    for x in range(2):
                        p1 = i + 1 if x == 0 else i
                        p2 = j if x == 0 else j + 1
                        if p1 < nfix[v1] or p2 < nfix[v2]:
                            continue
                        if p1 == rl[v1] and p2 == rl[v2]:
                            continue
                        lb = _tails_lb(v1, p1, v2, p2, rt, rl, cpt, vsp, vep, cc)
                        if lb >= -1e-9:
                            continue
                        ok = True
                        for k in range(p1, rl[v1]):
                            if not allowed[rt[v1, k], v2]:
                                ok = False
                                break
                        for k in range(p2, rl[v2]):
                            if not ok or not allowed[rt[v2, k], v1]:
                                ok = False
                                break
                        if not ok:
                            continue
                        m1, m2 = _tails(v1, p1, v2, p2, rt, rl, ra, rb)
                        dl = _pair(v1, m1, v2, m2, ra, rb, rt, rl, rc, fixed, d, oa, ob,
                                   scr_lo, scr_hi, pend, stock, pick, wout, meta)  # fmt: skip
                        if dl < best - 1e-6:
                            best, n1, n2 = dl, m1, m2
                            break
                if n1 < 0:
                    continue
                for k in range(n1):
                    rt[v1, k] = ra[k]
                    ru[ra[k]] = v1
                rl[v1] = n1
                for k in range(n2):
                    rt[v2, k] = rb[k]
                    ru[rb[k]] = v2
                rl[v2] = n2
                schedule(v1, rt, rl, es, ls, ld, rc, d, scr_lo, scr_hi, pend, stock, pick, wout,
                         meta)  # fmt: skip
                schedule(v2, rt, rl, es, ls, ld, rc, d, scr_lo, scr_hi, pend, stock, pick, wout,
                         meta)  # fmt: skip
                total += best
                changed[v1] = True
                changed[v2] = True
                nxt[v1] = True
                nxt[v2] = True
                moved = True
                break
        if not moved:
            break
        for v in range(nv):
            active[v] = nxt[v]
            nxt[v] = False
    return total


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
    n_iter, temp, fixed, pen, depot_cost, adj, allowed, fixc, nfix, simple, d,
    rt, rl, es, ls, ld, rc, ru,
    cur_rt, cur_rl, cur_rc, cur_ru,
    best_rt, best_rl, best_ru, stats,
):  # fmt: skip
    """``n_iter`` SISR iterations at temperature ``temp``.

    ``stats`` (float64): [0] current cost, [1] best cost, [2] exact re-timings,
    [3] iterations, [4] accepted, [5] best improvements, [6] new bests that the
    inter-route local search (``descend``) improved further. ``simple[v]``: the route has no
    break, absence, span limit, overtime cost, SLA term or parts, so the O(1) filter and
    the lower bound are exact and no re-timing is needed.
    """
    (cpt, svc, twa, twb, nw, dem, sla, slaw, pref, nomdur, hasparts, need, whp, whsvc,
     wha, whb, whn, vsp, vep, vE, vL, vS, otc, vmax, cap, vstock, nb, bws, bwe, bdur,
     na, aS, aE, target, balw, tt, cc) = d  # fmt: skip
    nv = rl.shape[0]
    nc = cpt.shape[0]
    width = rt.shape[1]
    npause = nb.max() + na.max() + 2 if nv > 0 else 2
    scr_lo = np.empty(npause, dtype=np.int64)
    scr_hi = np.empty(npause, dtype=np.int64)
    pend = np.empty(max(1, nb.max() if nv > 0 else 1), dtype=np.bool_)
    stock = np.empty(need.shape[1], dtype=np.int64)
    pick = np.empty(width, dtype=np.bool_)
    tmp_row = np.empty(width, dtype=np.int64)
    tmp_out = np.empty(width, dtype=np.int64)
    wout = np.empty(width, dtype=np.int64)
    meta = np.empty(4, dtype=np.int64)
    ruined = np.zeros(nv, dtype=np.bool_)
    touched = np.zeros(nv, dtype=np.bool_)
    cand = np.empty(nc, dtype=np.int64)
    keys = np.empty(nc, dtype=np.float64)
    row = np.empty(width, dtype=np.int64)
    mark = np.zeros(nv, dtype=np.int64)
    near = np.empty(nv, dtype=np.int64)
    m_max = nv * width + nv
    pv = np.empty(m_max, dtype=np.int64)
    pk = np.empty(m_max, dtype=np.int64)
    plb = np.empty(m_max, dtype=np.float64)
    work = np.zeros(nv, dtype=np.int64)
    # Timing of the current routes, so that undoing a change copies instead of re-timing.
    cur_es = es.copy()
    cur_ls = ls.copy()
    cur_ld = ld.copy()
    ls_act = np.zeros(nv, dtype=np.bool_)
    ls_chg = np.zeros(nv, dtype=np.bool_)
    ls_a = np.empty(width, dtype=np.int64)
    ls_b = np.empty(width, dtype=np.int64)
    ls_oa = np.empty(width, dtype=np.int64)
    ls_ob = np.empty(width, dtype=np.int64)
    ls_all = True  # the first new best searches every route, later ones the touched ones
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
            if rl[v] > nfix[v]:
                n_used += 1
                n_assigned += rl[v] - nfix[v]
        if n_assigned > 0:
            avg = n_assigned / n_used
            ls_max = min(L_MAX, avg)
            ks_max = 4.0 * C_BAR / (1.0 + ls_max) - 1.0
            ks = int(np.random.random() * ks_max) + 1
            seed = np.random.randint(nc)
            while ru[seed] < 0 or fixc[seed]:
                seed = np.random.randint(nc)
            n_ruined = 0
            for a in range(adj.shape[1] + 1):
                c = seed if a == 0 else adj[seed, a - 1]
                v = ru[c]
                if v < 0 or ruined[v] or fixc[c]:
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
                    if lo <= k < lo + span and not (keep_from <= k < keep_to) and not fixc[x]:
                        cand[n_cand + n_out] = x
                        n_out += 1
                    else:
                        row[n_row] = x
                        n_row += 1
                for k in range(n_row):
                    rt[v, k] = row[k]
                rl[v] = n_row
                ruined[v] = True
                if schedule(
                    v, rt, rl, es, ls, ld, rc, d, scr_lo, scr_hi, pend, stock, pick, wout, meta
                ):
                    for k in range(n_out):
                        ru[cand[n_cand + k]] = -1
                    n_cand += n_out
                    touched[v] = True
                else:
                    # The shortcut breaks a window or a break (travel times without the
                    # triangle inequality, the greedy break rule): leave the route as it was.
                    _restore(
                        v, rt, rl, es, ls, ld, rc, cur_rt, cur_rl, cur_es, cur_ls, cur_ld, cur_rc
                    )
                n_ruined += 1
                if n_ruined >= ks:
                    break
        # Customers left out before this iteration compete for places too (a sample).
        base_cand = n_cand
        n_open = 0
        for c in range(nc):
            if ru[c] < 0:
                n_open += 1
        p_open = OPEN_TRIES / n_open if n_open > OPEN_TRIES else 1.0
        for c in range(nc):
            if ru[c] < 0 and (p_open >= 1.0 or np.random.random() < p_open):
                dup = False
                for k in range(base_cand):
                    if cand[k] == c:
                        dup = True
                        break
                if not dup:
                    cand[n_cand] = c
                    n_cand += 1
        # Work per route (the balance term's lower bound).
        if balw > 0:
            for v in range(nv):
                w = 0
                for k in range(rl[v]):
                    w += nomdur[rt[v, k]]
                work[v] = w
        # ---- recreate: order, then cheapest feasible place with blinks ----------------
        r = np.random.random()
        for k in range(n_cand):
            c = cand[k]
            if r < 4.0 / 11.0:
                keys[k] = np.random.random()
            elif r < 8.0 / 11.0:
                keys[k] = -pen[c] * 1e3 - dem[c] - np.random.random() * 1e-3
            elif r < 10.0 / 11.0:
                keys[k] = -depot_cost[c]
            else:
                keys[k] = depot_cost[c]
        order = np.argsort(keys[:n_cand])
        for oi in range(n_cand):
            c = cand[order[oi]]
            q = cpt[c]
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
            bv = -1
            bk = -1
            best = np.inf
            for rnd in range(2):
                if rnd == 1:
                    if bv >= 0:
                        break
                    n_r = 0
                    for v in range(nv):
                        if mark[v] != stamp:
                            near[n_r] = v
                            n_r += 1
                # Places that pass the O(1) filter, with a lower bound of their cost.
                m = 0
                for ri in range(n_r):
                    v = near[ri]
                    if not allowed[c, v] or ld[v] + dem[c] > cap[v]:
                        continue
                    n = rl[v]
                    extra = pref[v, c]
                    if balw > 0:
                        over0 = work[v] - target[v]
                        over1 = over0 + nomdur[c]
                        extra += balw * ((over1 if over1 > 0 else 0) - (over0 if over0 > 0 else 0))
                    # Simple routes: the bound is exact, keep the best place at once (no
                    # list); others: list every place whose bound beats the best so far.
                    exact_bound = simple[v] and not hasparts[c]
                    for k in range(nfix[v], n + 1):
                        if n > 0:
                            blink -= 1
                            if blink < 0:
                                blink = int(np.log(np.random.random()) / LOG_NO_BLINK)
                                continue
                            p = vsp[v] if k == 0 else cpt[rt[v, k - 1]]
                            nx = vep[v] if k == n else cpt[rt[v, k]]
                            lb = cc[p, q] + cc[q, nx] - cc[p, nx] + extra
                        else:
                            lb = cc[vsp[v], q] + cc[q, vep[v]] + fixed + extra
                        if lb >= best:
                            continue
                        s = _fits(v, k, c, rt, rl, es, ls, d)
                        if s == NONE:
                            continue
                        if exact_bound:
                            best, bv, bk = lb, v, k
                            continue
                        if s > sla[c]:
                            lb += slaw * (s - sla[c])
                        pv[m] = v
                        pk[m] = k
                        plb[m] = lb
                        m += 1
                # Re-time the most promising places exactly, best lower bound first.
                fails = 0
                while fails < EXACT_TRIES:
                    j = -1
                    lo_b = best
                    for i in range(m):
                        if plb[i] < lo_b:
                            lo_b = plb[i]
                            j = i
                    if j < 0:
                        break
                    v = pv[j]
                    k = pk[j]
                    plb[j] = np.inf
                    n = rl[v]
                    for i in range(k):
                        tmp_row[i] = rt[v, i]
                    tmp_row[k] = c
                    for i in range(k, n):
                        tmp_row[i + 1] = rt[v, i]
                    stats[2] += 1
                    cost = timed(v, tmp_row, n + 1, tmp_out, wout, meta, d, scr_lo, scr_hi,
                                 pend, stock, pick)  # fmt: skip
                    if cost < 0:
                        fails += 1
                        continue
                    fails = 0
                    delta = cost - rc[v] + (fixed if n == 0 else 0.0)
                    if delta < best:
                        best, bv, bk = delta, v, k
            if bv < 0:
                continue
            n = rl[bv]
            for k in range(n, bk, -1):
                rt[bv, k] = rt[bv, k - 1]
            rt[bv, bk] = c
            rl[bv] = n + 1
            ru[c] = bv
            touched[bv] = True
            work[bv] += nomdur[c]
            schedule(bv, rt, rl, es, ls, ld, rc, d, scr_lo, scr_hi, pend, stock, pick, wout, meta)
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
                    _restore(
                        v, cur_rt, cur_rl, cur_es, cur_ls, cur_ld, cur_rc, rt, rl, es, ls, ld, rc
                    )
            for c in range(nc):
                cur_ru[c] = ru[c]
            if new < stats[1] - 1e-9:
                # A new best: descend with inter-route moves; working and current routes are
                # the same here, so the changed routes are copied to the current ones.
                for v in range(nv):
                    ls_act[v] = touched[v] or ls_all
                    ls_chg[v] = False
                ls_all = False
                gain = descend(rt, rl, es, ls, ld, rc, ru, adj, allowed, fixc, nfix, fixed, d,
                               ls_act, ls_chg, ls_a, ls_b, ls_oa, ls_ob, scr_lo, scr_hi, pend,
                               stock, pick, wout, meta)  # fmt: skip
                if gain < 0:
                    for v in range(nv):
                        if ls_chg[v]:
                            _restore(v, cur_rt, cur_rl, cur_es, cur_ls, cur_ld, cur_rc, rt, rl,
                                     es, ls, ld, rc)  # fmt: skip
                    for c in range(nc):
                        cur_ru[c] = ru[c]
                    new += gain
                    stats[0] = new
                    stats[6] += 1
                stats[1] = new
                stats[5] += 1
                best_rt[:, :] = rt
                best_rl[:] = rl
                best_ru[:] = ru
        else:
            for v in range(nv):
                if touched[v]:
                    _restore(
                        v, rt, rl, es, ls, ld, rc, cur_rt, cur_rl, cur_es, cur_ls, cur_ld, cur_rc
                    )
                    for k in range(rl[v]):
                        ru[rt[v, k]] = v
            for k in range(n_cand):
                c = cand[k]
                if cur_ru[c] < 0:
                    ru[c] = -1
    return stats
