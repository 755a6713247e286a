/* tpress codecs [--json] */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_value(const tp_param_def *d, double v)
{
    if (d->type == TP_PARAM_ENUM) printf("%s", d->choices[(int)v]);
    else if (d->type == TP_PARAM_INT) printf("%.0f", v);
    else printf("%g", v);
}

int cmd_codecs(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            puts("usage: tpress codecs [--json]\n\nLists every codec with its id, kind, parameters, defaults and ranges.");
            return 0;
        }
        if (!strcmp(argv[i], "--json")) json = 1;
        else return cli_fail("codecs: unknown argument '%s'", argv[i]);
    }
    cJSON *root = json ? cJSON_CreateArray() : NULL;
    for (size_t i = 0; i < tp_codec_count(); i++) {
        const tp_codec_info *c = tp_codec_at(i);
        const char *kind = (c->flags & TP_CODEC_LOSSY) ? "lossy" : "lossless";
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", c->name);
            cJSON_AddNumberToObject(o, "id", c->id);
            cJSON_AddStringToObject(o, "kind", kind);
            cJSON_AddStringToObject(o, "summary", c->summary);
            cJSON *ps = cJSON_AddArrayToObject(o, "params");
            for (size_t j = 0; j < c->n_params; j++) {
                const tp_param_def *d = &c->params[j];
                cJSON *p = cJSON_CreateObject();
                cJSON_AddStringToObject(p, "name", d->name);
                cJSON_AddStringToObject(p, "type", d->type == TP_PARAM_INT ? "int" : d->type == TP_PARAM_FLOAT ? "float" : "enum");
                if (d->type == TP_PARAM_ENUM) {
                    cJSON_AddStringToObject(p, "default", d->choices[(int)d->def]);
                    cJSON *ch = cJSON_AddArrayToObject(p, "choices");
                    for (int k = 0; d->choices[k]; k++) cJSON_AddItemToArray(ch, cJSON_CreateString(d->choices[k]));
                } else {
                    cJSON_AddNumberToObject(p, "default", d->def);
                    cJSON_AddNumberToObject(p, "min", d->min);
                    cJSON_AddNumberToObject(p, "max", d->max);
                }
                cJSON_AddStringToObject(p, "help", d->help);
                cJSON_AddItemToArray(ps, p);
            }
            cJSON_AddItemToArray(root, o);
            continue;
        }
        printf("%s (id %u, %s): %s\n", c->name, c->id, kind, c->summary);
        for (size_t j = 0; j < c->n_params; j++) {
            const tp_param_def *d = &c->params[j];
            printf("    %-8s default ", d->name);
            print_value(d, d->def);
            if (d->type == TP_PARAM_ENUM) {
                printf(", one of ");
                for (int k = 0; d->choices[k]; k++) printf("%s%s", k ? "|" : "", d->choices[k]);
            } else if (d->type == TP_PARAM_INT) printf(", %.0f..%.0f", d->min, d->max);
            else printf(", %g..%g", d->min, d->max);
            printf("  %s\n", d->help);
        }
    }
    if (json) {
        cli_json_print(root);
    }
    return 0;
}
