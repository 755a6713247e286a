/* The codec table, generated from codec_list.h, followed by the codecs a
 * program registers at run time (tp_codec_register). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"

/* List order: the order of tp_codec_at(). */
static const tp_codec *const registry[] = {
#define TP_CODEC(id, name) &tp_codec_##name,
#include "codecs/codec_list.h"
};

/* Indexed by id, NULL for ids without a codec. Two rows with one id
 * initialise the same element, which -Woverride-init (-Wextra) rejects. */
static const tp_codec *const by_id[] = {
#define TP_CODEC(id, name) [id] = &tp_codec_##name,
#include "codecs/codec_list.h"
};

#define REGISTRY_SIZE (sizeof registry / sizeof registry[0])
#define BY_ID_SIZE (sizeof by_id / sizeof by_id[0])

/* Registered codecs: an entry is written before the count that publishes
 * it grows (release), so readers that load the count (acquire) see whole
 * entries without a lock; writers take the lock. */
static const tp_codec *user[TP_CODEC_USER_COUNT];
static atomic_size_t n_user;
static pthread_mutex_t user_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t user_count(void) { return atomic_load_explicit(&n_user, memory_order_acquire); }

size_t tp_codec_count(void) { return REGISTRY_SIZE + user_count(); }

const tp_codec_info *tp_codec_at(size_t i)
{
    if (i < REGISTRY_SIZE) return &registry[i]->info;
    return i - REGISTRY_SIZE < user_count() ? &user[i - REGISTRY_SIZE]->info : NULL;
}

const tp_codec *tp_codec_by_id(uint16_t id)
{
    if (id < BY_ID_SIZE) return by_id[id];
    for (size_t i = 0, n = user_count(); i < n; i++)
        if (user[i]->info.id == id) return user[i];
    return NULL;
}

/* A scan: called once per stage at parse time, over a few dozen names. */
const tp_codec *tp_codec_by_name(const char *name)
{
    for (size_t i = 0; i < REGISTRY_SIZE; i++)
        if (!strcmp(registry[i]->info.name, name)) return registry[i];
    for (size_t i = 0, n = user_count(); i < n; i++)
        if (!strcmp(user[i]->info.name, name)) return user[i];
    return NULL;
}

static int valid_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (!n || n > 31) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_')) return 0;
    return 1;
}

static size_t check_user_codec(const tp_codec *c)
{
    const tp_codec_info *in = &c->info;
    if (in->id < TP_CODEC_USER_MIN || in->id > TP_CODEC_USER_MAX)
        return tp_fail(TP_ERR_ARG, "codec id %u outside the user range %u..%u", in->id, TP_CODEC_USER_MIN,
                       TP_CODEC_USER_MAX);
    if (!valid_name(in->name)) return tp_fail(TP_ERR_ARG, "codec name must be 1..31 of [a-z0-9_]");
    if (!c->bound || !c->encode || !c->decode) return tp_fail(TP_ERR_ARG, "codec '%s' lacks bound, encode or decode", in->name);
    if (in->n_params > TP_MAX_PARAMS || (in->n_params && !in->params))
        return tp_fail(TP_ERR_ARG, "codec '%s': %zu parameters (at most %d)", in->name, in->n_params, TP_MAX_PARAMS);
    for (size_t i = 0; i < in->n_params; i++) {
        const tp_param_def *d = &in->params[i];
        if (!valid_name(d->name) || !(d->min <= d->def && d->def <= d->max))
            return tp_fail(TP_ERR_ARG, "codec '%s': parameter %zu has a bad name or a default outside its range", in->name, i);
    }
    return 0;
}

size_t tp_codec_register(const tp_codec *c)
{
    if (!c) return tp_fail(TP_ERR_ARG, "NULL codec");
    TP_TRY(check_user_codec(c));
    pthread_mutex_lock(&user_lock);
    size_t n = user_count(), r = 0;
    if (tp_codec_by_name(c->info.name) || tp_codec_by_id(c->info.id))
        r = tp_fail(TP_ERR_ARG, "codec name '%s' or id %u is taken", c->info.name, c->info.id);
    else if (n == TP_CODEC_USER_COUNT) r = tp_fail(TP_ERR_ARG, "the registry holds %d codecs already", TP_CODEC_USER_COUNT);
    else {
        user[n] = c;
        atomic_store_explicit(&n_user, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&user_lock);
    return r;
}

const tp_codec_info *tp_codec_find(const char *name)
{
    if (!name) return NULL;
    const tp_codec *c = tp_codec_by_name(name);
    if (!c) {
        char *end;
        unsigned long id = strtoul(name, &end, 10);
        if (*name && !*end && id <= 0xffff) c = tp_codec_by_id((uint16_t)id);
    }
    return c ? &c->info : NULL;
}
