/* tpress: compress neural-network tensors for real, measured bytes. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} commands[] = {
    {"compress", cmd_compress, "compress a .npy or .safetensors file into a .tpz archive"},
    {"decompress", cmd_decompress, "restore a .tpz archive to .safetensors or .npy"},
    {"info", cmd_info, "list the tensors of a .tpz archive with specs, sizes and errors"},
    {"codecs", cmd_codecs, "list every codec with its parameters, defaults and ranges"},
    {"bench", cmd_bench, "measure ratio, error and speed of pipelines on a tensor file"},
    {"image", cmd_image, "compress a PNG/JPEG image into a .tpz (dct2d) and back to PNG"},
    {"eval", cmd_eval, "compare what a model does with original vs compressed weights"},
    {"dump", cmd_dump, "write a model's real activations (hidden states) as .npy"},
    {"kv-eval", cmd_kv_eval, "run SmolLM2 with a compressed KV cache in the loop and score it"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tpress COMMAND [options]   (tpress COMMAND --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nPipelines are spec strings: \"int:bits=4,group=32 | zstd:level=3\".\n"
               "Example: tpress compress model.safetensors -o model.tpz --codec \"int:bits=4\"\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) { usage(stderr); return EXIT_BAD; }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) { usage(stdout); return 0; }
    if (!strcmp(argv[1], "--version")) { printf("tpress %s\n", TP_VERSION_STRING); return 0; }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    cli_fail("unknown command '%s' (try tpress --help)", argv[1]);
    return EXIT_BAD;
}
