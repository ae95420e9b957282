/* main.c — the `conclab` command: one executable for the kernel, its executor and the tools. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "executor.h"
#include "kernel.h"

static int usage(FILE *to) {
    fprintf(to,
            "usage: conclab kernel -f CONNECTION_FILE   serve a notebook (started by Jupyter)\n"
            "       conclab install [--user | --sys-prefix | --prefix DIR]\n"
            "                                           register the kernelspec\n"
            "       conclab run NOTEBOOK.ipynb [-o OUT.ipynb]\n"
            "                                           execute a notebook headless\n"
            "       conclab export NOTEBOOK.ipynb [-o OUT.c]\n"
            "                                           the notebook as one C program, for gcc\n"
            "       conclab lab [DIR] [--port=N] [--no-browser]\n"
            "                                           JupyterLab on 127.0.0.1, opening DIR\n"
            "       conclab hub-config [-o FILE] [options]\n"
            "                                           a JupyterHub configuration for a class\n"
            "       conclab assign INSTRUCTOR.ipynb [-o STUDENT.ipynb]\n"
            "                                           the student version of an assignment\n"
            "       conclab grade SUBMISSION.ipynb --source INSTRUCTOR.ipynb [-o OUTDIR]\n"
            "                                           grade one submission\n"
            "       conclab grade DIR/ --source INSTRUCTOR.ipynb [--jobs N] [-o OUTDIR]\n"
            "                                           grade a class's submissions in parallel\n"
            "       conclab --version\n");
    return to == stderr ? 2 : 0;
}

static int run_kernel(int argc, char **argv) {
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--connection-file") == 0)
            return kernel_main(argv[i + 1]);
    fprintf(stderr, "conclab kernel: missing -f CONNECTION_FILE\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage(stderr);
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("conclab %s\n", CONCLAB_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) return usage(stdout);
    if (strcmp(cmd, "kernel") == 0) return run_kernel(argc, argv);
    if (strcmp(cmd, "install") == 0) return cli_install(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0) return cli_run(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0) return cli_export(argc - 1, argv + 1);
    if (strcmp(cmd, "lab") == 0) return cli_lab(argc - 1, argv + 1);
    if (strcmp(cmd, "grade") == 0 && grade_wants_batch(argc - 1, argv + 1)) return cli_grade_batch(argc - 1, argv + 1);
    if (strcmp(cmd, "hub-config") == 0) return cli_hub_config(argc - 1, argv + 1);
    if (strcmp(cmd, "assign") == 0) return cli_assign(argc - 1, argv + 1);
    if (strcmp(cmd, "grade") == 0) return cli_grade(argc - 1, argv + 1);
    if (strcmp(cmd, "executor") == 0 && argc == 3) return executor_main(atoi(argv[2]));
    if (strcmp(cmd, "executor-keeper") == 0 && argc == 3) return executor_keeper_main(atoi(argv[2]));
    fprintf(stderr, "conclab: unknown command '%s'\n", cmd);
    return usage(stderr);
}
