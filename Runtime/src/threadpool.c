#define _POSIX_C_SOURCE 200809L
/* threadpool.c — a fixed pool of worker threads for kiln_parallel_for.
 *
 * Algorithm: the caller publishes (fn, ctx, n), bumps a generation counter and wakes the
 * workers; worker t runs chunk t of [0, n), the caller runs chunk 0, then waits until
 * every worker has reported. Threads are created once per session, never while running. */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>

struct kiln_pool {
    uint32_t threads;            /* including the caller */
    pthread_t *workers;
    uint32_t started;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    uint64_t generation;
    uint32_t pending;
    int stop;
    kiln_range_fn fn;
    void *ctx;
    size_t n;
};

typedef struct worker_arg { kiln_pool *pool; uint32_t index; } worker_arg;

static void run_chunk(kiln_pool *p, kiln_range_fn fn, void *ctx, size_t n, uint32_t t) {
    size_t begin = n * t / p->threads, end = n * (t + 1) / p->threads;
    if (begin < end) fn(ctx, begin, end, t);
}

static void *worker_main(void *arg) {
    worker_arg *w = arg;
    kiln_pool *p = w->pool;
    uint32_t index = w->index;
    free(w);
    pthread_mutex_lock(&p->mu);
    uint64_t seen = 0; /* the pool's first generation; a late-starting worker still runs it */
    for (;;) {
        while (p->generation == seen && !p->stop) pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        kiln_range_fn fn = p->fn;
        void *ctx = p->ctx;
        size_t n = p->n;
        pthread_mutex_unlock(&p->mu);
        run_chunk(p, fn, ctx, n, index);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

kiln_status kiln_pool_create(uint32_t threads, kiln_pool **out) {
    *out = NULL;
    if (threads <= 1) return KILN_OK;
    kiln_pool *p = calloc(1, sizeof *p);
    if (!p) return KILN_ERR_OUT_OF_MEMORY;
    p->threads = threads;
    p->workers = calloc(threads, sizeof(pthread_t));
    if (!p->workers) { free(p); return KILN_ERR_OUT_OF_MEMORY; }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    for (uint32_t t = 1; t < threads; t++) {
        worker_arg *w = malloc(sizeof *w);
        if (!w) { kiln_pool_free(p); return KILN_ERR_OUT_OF_MEMORY; }
        w->pool = p;
        w->index = t;
        if (pthread_create(&p->workers[t], NULL, worker_main, w) != 0) {
            free(w);
            kiln_pool_free(p);
            return KILN_ERR_THREAD;
        }
        p->started = t;
    }
    *out = p;
    return KILN_OK;
}

void kiln_pool_free(kiln_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (uint32_t t = 1; t <= p->started; t++) pthread_join(p->workers[t], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->workers);
    free(p);
}

void kiln_parallel_for(const kiln_exec *e, size_t n, kiln_range_fn fn, void *ctx) {
    kiln_pool *p = e->pool;
    if (!p || n < 2) {
        if (n) fn(ctx, 0, n, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->pending = p->threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_chunk(p, fn, ctx, n, 0);
    pthread_mutex_lock(&p->mu);
    while (p->pending) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
