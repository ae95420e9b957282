/* cli.h — the subcommands of the `conclab` executable besides `kernel`. */
#ifndef CONCLAB_CLI_H
#define CONCLAB_CLI_H

/* conclab install [--user | --sys-prefix | --prefix DIR]: registers the kernelspec. */
int cli_install(int argc, char **argv);

/* conclab run NOTEBOOK.ipynb [-o OUT.ipynb]: executes a notebook headless through the engine. */
int cli_run(int argc, char **argv);

/* conclab export NOTEBOOK.ipynb [-o OUT.c]: the notebook's C cells as one C program. */
int cli_export(int argc, char **argv);

/* conclab lab [DIR] [options]: JupyterLab on 127.0.0.1 with a token, opening DIR. */
int cli_lab(int argc, char **argv);
/* conclab hub-config [-o FILE] [options]: a jupyterhub_config.py for a class (hub/). */
int cli_hub_config(int argc, char **argv);

/* conclab assign INSTRUCTOR.ipynb [-o STUDENT.ipynb]: the student version of an assignment. */
int cli_assign(int argc, char **argv);
/* conclab grade SUBMISSION.ipynb --source INSTRUCTOR.ipynb [-o OUTDIR]: grades one submission. */
int cli_grade(int argc, char **argv);
/* conclab grade DIR/ --source SRC [options]: a class's submissions, graded in parallel
 * (grade_batch.c); chosen over the single-submission grader when an operand is a folder. */
#include <stdbool.h>
bool grade_wants_batch(int argc, char **argv);
int cli_grade_batch(int argc, char **argv);

#endif
