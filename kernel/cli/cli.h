/* cli.h — the subcommands of the `conclab` executable besides `kernel`. */
#ifndef CONCLAB_CLI_H
#define CONCLAB_CLI_H

/* conclab install [--user | --sys-prefix | --prefix DIR]: registers the kernelspec. */
int cli_install(int argc, char **argv);

/* conclab run NOTEBOOK.ipynb [-o OUT.ipynb]: executes a notebook headless through the engine. */
int cli_run(int argc, char **argv);

#endif
