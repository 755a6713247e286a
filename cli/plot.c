/* PNG plots through gnuplot (tpress eval --plot): data files and a script
 * go into a temporary directory beside the output, gnuplot runs there on
 * relative names only (no quoting of user paths in the script), and the
 * finished PNG is renamed over the output, so a failed run leaves no file. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

int cli_plot_available(void)
{
    const char *path = getenv("PATH");
    if (!path) return 0;
    char buf[PATH_MAX];
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ":");
        if (snprintf(buf, sizeof buf, "%.*s/gnuplot", (int)n, n ? p : ".") < (int)sizeof buf && !access(buf, X_OK))
            return 1;
        p += n + (p[n] == ':');
    }
    return 0;
}

int cli_plot_begin(const char *out_png, cli_plot *pl)
{
    const char *slash = strrchr(out_png, '/');
    int dl = slash ? (int)(slash - out_png) + 1 : 0;
    if (snprintf(pl->dir, sizeof pl->dir, "%.*s.tpress-plot-XXXXXX", dl, out_png) >= (int)sizeof pl->dir)
        return cli_fail("--plot: path too long");
    if (!mkdtemp(pl->dir)) return cli_fail("--plot: cannot create a directory beside %s: %s", out_png, strerror(errno));
    pl->out = out_png;
    return 0;
}

FILE *cli_plot_file(const cli_plot *pl, const char *name)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/%s", pl->dir, name);
    FILE *f = fopen(p, "w");
    if (!f) cli_fail("--plot: cannot write %s: %s", p, strerror(errno));
    return f;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[PATH_MAX + 300];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(dir);
}

void cli_plot_abort(cli_plot *pl)
{
    if (pl->dir[0]) remove_dir(pl->dir);
    pl->dir[0] = 0;
}

int cli_plot_finish(cli_plot *pl, const char *script)
{
    FILE *f = cli_plot_file(pl, "plot.gp");
    int ok = f && fprintf(f, "set terminal pngcairo size 1000,760 font ',10'\nset output 'plot.png'\n%s", script) > 0;
    if (f && fclose(f)) ok = 0;
    if (!ok) { cli_plot_abort(pl); return cli_fail("--plot: cannot write the gnuplot script"); }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (chdir(pl->dir)) _exit(126);
        execlp("gnuplot", "gnuplot", "plot.gp", (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0) st = -1;
    char png[PATH_MAX + 64];
    snprintf(png, sizeof png, "%s/plot.png", pl->dir);
    struct stat sb;
    int rc = 0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) == 127) rc = cli_fail("--plot: cannot run gnuplot (install gnuplot-nox: scripts/deps.sh)");
    else if (WEXITSTATUS(st)) rc = cli_fail("--plot: gnuplot failed (exit %d)", WEXITSTATUS(st));
    else if (stat(png, &sb) || sb.st_size == 0) rc = cli_fail("--plot: gnuplot wrote no PNG");
    else if (rename(png, pl->out)) rc = cli_fail("--plot: cannot write %s: %s", pl->out, strerror(errno));
    cli_plot_abort(pl);
    return rc;
}
