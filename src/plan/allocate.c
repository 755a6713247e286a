/* Global allocation over the tensors' curves. Minimising the sum of
 * weighted errors under a byte budget is a multiple-choice knapsack; the
 * Lagrangian relaxation (each tensor takes the point minimising
 * weight x sse + lambda x bytes) solves it exactly at the budgets the
 * lower convex hulls reach, and a greedy fill of the remainder, by error
 * saved per byte, uses the Pareto points between hull vertices. Where the
 * curves are coarse (few tensors, big steps) that leaves error on the
 * table, so a dynamic program over the budget cut into units (bytes rounded
 * up, so its plans always fit) runs too, and the better plan wins; pairwise
 * exchanges then polish it. */
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "core/error.h"
#include "plan/plan.h"

#define LAMBDA_STEPS 200
#define MAX_EXCHANGES 256
#define DP_MAX_UNITS 65536
#define DP_MAX_CELLS (1u << 27) /* tensors x points x units */

static double distortion(const tp_rd_curve *c, size_t k) { return c->weight * c->pts[k].sse; }

/* Chooses by slope lambda; returns the planned bytes. */
static uint64_t choose_at(tp_rd_curve *c, size_t n, uint64_t fixed, double lambda)
{
    uint64_t total = fixed;
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        double best_cost = INFINITY;
        for (size_t k = 0; k < c[i].n; k++) {
            double cost = distortion(&c[i], k) + lambda * (double)c[i].pts[k].bytes;
            if (cost < best_cost) { best_cost = cost; best = k; }
        }
        c[i].chosen = best;
        total += c[i].pts[best].bytes;
    }
    return total;
}

/* Spends what the budget leaves on the upgrade that saves the most error
 * per byte, until none fits. */
static uint64_t greedy_fill(tp_rd_curve *c, size_t n, uint64_t total, uint64_t budget)
{
    for (;;) {
        size_t bi = n, bk = 0;
        double best = 0;
        for (size_t i = 0; i < n; i++) {
            const tp_rd_point *cur = &c[i].pts[c[i].chosen];
            for (size_t k = c[i].chosen + 1; k < c[i].n; k++) {
                uint64_t extra = c[i].pts[k].bytes - cur->bytes;
                double saved = distortion(&c[i], c[i].chosen) - distortion(&c[i], k);
                if (total + extra > budget || saved <= 0) continue;
                double gain = saved / (double)(extra ? extra : 1);
                if (gain > best) { best = gain; bi = i; bk = k; }
            }
        }
        if (bi == n) return total;
        total += c[bi].pts[bk].bytes - c[bi].pts[c[bi].chosen].bytes;
        c[bi].chosen = bk;
    }
}

/* Applies the best exchange that fits and lowers the total error: tensor
 * i to a lower point, tensor j to a higher one. Returns 1 if one did. */
static int best_exchange(tp_rd_curve *c, size_t n, uint64_t *total, uint64_t budget)
{
    size_t bi = n, bi_k = 0, bj = n, bj_k = 0;
    double best = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t down = 0; down < c[i].chosen; down++) {
            uint64_t freed = c[i].pts[c[i].chosen].bytes - c[i].pts[down].bytes;
            double lost = distortion(&c[i], down) - distortion(&c[i], c[i].chosen);
            for (size_t j = 0; j < n; j++) {
                if (j == i) continue;
                for (size_t k = c[j].chosen + 1; k < c[j].n; k++) {
                    uint64_t extra = c[j].pts[k].bytes - c[j].pts[c[j].chosen].bytes;
                    if (*total - freed + extra > budget) break;
                    double gain = distortion(&c[j], c[j].chosen) - distortion(&c[j], k) - lost;
                    if (gain > best) { best = gain; bi = i; bi_k = down; bj = j; bj_k = k; }
                }
            }
        }
    }
    /* below rounding noise an exchange could cycle */
    if (bi == n || best <= 1e-12 * distortion(&c[bi], 0)) return 0;
    *total -= c[bi].pts[c[bi].chosen].bytes - c[bi].pts[bi_k].bytes;
    c[bi].chosen = bi_k;
    *total += c[bj].pts[bj_k].bytes - c[bj].pts[c[bj].chosen].bytes;
    c[bj].chosen = bj_k;
    return 1;
}

static double plan_distortion(const tp_rd_curve *c, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++) d += distortion(&c[i], c[i].chosen);
    return d;
}

/* The knapsack over whole units of (budget - fixed) / units bytes; sets
 * the chosen points and returns 1, or 0 when it cannot run (memory). */
static int dp_allocate(tp_rd_curve *c, size_t n, uint64_t room)
{
    size_t points = 0;
    for (size_t i = 0; i < n; i++) points += c[i].n;
    size_t units = DP_MAX_UNITS;
    while (units > 256 && (double)points * units > DP_MAX_CELLS) units /= 2;
    double unit = (double)room / (double)units;
    if (!(unit > 0) || n == 0) return 0;
    double *prev = malloc((units + 1) * sizeof *prev), *cur = malloc((units + 1) * sizeof *cur);
    uint8_t *pick = malloc(n * (units + 1));
    int ok = prev && cur && pick;
    for (size_t u = 0; ok && u <= units; u++) prev[u] = 0;
    for (size_t i = 0; ok && i < n; i++) {
        for (size_t u = 0; u <= units; u++) {
            cur[u] = INFINITY;
            pick[i * (units + 1) + u] = 0;
            for (size_t k = 0; k < c[i].n; k++) {
                double w = ceil((double)c[i].pts[k].bytes / unit);
                if (w > (double)u) continue;
                double d = prev[u - (size_t)w] + distortion(&c[i], k);
                if (d < cur[u]) { cur[u] = d; pick[i * (units + 1) + u] = (uint8_t)k; }
            }
        }
        double *t = prev; prev = cur; cur = t;
    }
    ok = ok && isfinite(prev[units]);
    for (size_t i = n, u = units; ok && i-- > 0;) {
        size_t k = pick[i * (units + 1) + u];
        c[i].chosen = k;
        u -= (size_t)ceil((double)c[i].pts[k].bytes / unit);
    }
    free(prev);
    free(cur);
    free(pick);
    return ok;
}

size_t tp_allocate_budget(tp_rd_curve *c, size_t n, uint64_t fixed, uint64_t budget, uint64_t *total,
                          uint64_t *smallest)
{
    uint64_t least = fixed;
    for (size_t i = 0; i < n; i++) least += c[i].pts[0].bytes;
    *smallest = least;
    if (least > budget)
        return tp_fail(TP_ERR_ARG, "a target of %llu bytes is below the smallest plan, %llu bytes",
                       (unsigned long long)budget, (unsigned long long)least);
    uint64_t t = choose_at(c, n, fixed, 0);
    if (t > budget) {
        /* bytes fall as lambda grows: bisect log(lambda) for the smallest
         * lambda whose plan fits */
        double lo = -700, hi = 700;
        for (int s = 0; s < LAMBDA_STEPS; s++) {
            double mid = 0.5 * (lo + hi);
            if (choose_at(c, n, fixed, exp(mid)) > budget) lo = mid;
            else hi = mid;
        }
        t = choose_at(c, n, fixed, exp(hi));
        if (t > budget) {
            /* ties at the feasible end: the cheapest points always fit */
            for (size_t i = 0; i < n; i++) c[i].chosen = 0;
            t = least;
        }
    }
    t = greedy_fill(c, n, t, budget);
    size_t *lagrange = malloc(n * sizeof *lagrange);
    if (lagrange) {
        for (size_t i = 0; i < n; i++) lagrange[i] = c[i].chosen;
        double d_lagrange = plan_distortion(c, n);
        uint64_t t_dp = fixed;
        if (dp_allocate(c, n, budget - fixed)) {
            for (size_t i = 0; i < n; i++) t_dp += c[i].pts[c[i].chosen].bytes;
            t_dp = greedy_fill(c, n, t_dp, budget);
        }
        if (t_dp > fixed && t_dp <= budget && plan_distortion(c, n) < d_lagrange) t = t_dp;
        else
            for (size_t i = 0; i < n; i++) c[i].chosen = lagrange[i];
        free(lagrange);
    }
    for (int e = 0; e < MAX_EXCHANGES && best_exchange(c, n, &t, budget); e++) t = greedy_fill(c, n, t, budget);
    *total = t;
    return 0;
}

void tp_allocate_bound(tp_rd_curve *c, size_t n, double min_snr_db, double max_rel_error)
{
    for (size_t i = 0; i < n; i++) {
        c[i].chosen = c[i].n - 1;
        for (size_t k = 0; k < c[i].n; k++) {
            double sse = c[i].pts[k].sse, e = c[i].energy;
            int ok = max_rel_error > 0 ? sse <= max_rel_error * max_rel_error * e
                                       : sse == 0 || (e > 0 && 10 * log10(e / sse) >= min_snr_db);
            if (ok) { c[i].chosen = k; break; }
        }
    }
}
