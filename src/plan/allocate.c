/* Global allocation over the tensors' curves. Minimising the sum of
 * weighted errors under a byte budget is a multiple-choice knapsack; the
 * Lagrangian relaxation (each tensor takes the point minimising
 * weight x sse + lambda x bytes) solves it exactly at the budgets the
 * lower convex hulls reach, and a greedy fill of the remainder, by error
 * saved per byte, uses the Pareto points between hull vertices. */
#include <math.h>

#include "core/error.h"
#include "plan/plan.h"

#define LAMBDA_STEPS 200

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
    *total = greedy_fill(c, n, t, budget);
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
