/* Unit-test runner: see runner.h. */
#include "runner.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define TEST_TIMEOUT_S 20

int gw_test_main(int argc, char **argv, const gw_test_t *tests)
{
    int passed = 0, failed = 0;
    const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

    if (argc > 1) {
        for (const gw_test_t *t = tests; t->name; t++) {
            if (strcmp(t->name, argv[1]) == 0) {
                t->fn();
                printf("ok %s\n", t->name);
                return 0;
            }
        }
        fprintf(stderr, "%s: no test named %s\n", prog, argv[1]);
        return 2;
    }
    for (const gw_test_t *t = tests; t->name; t++) {
        int status = 0;
        pid_t pid;

        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
            perror("fork");
            return 2;
        }
        if (pid == 0) {
            alarm(TEST_TIMEOUT_S);
            t->fn();
            fflush(stdout);
            _exit(0);
        }
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            passed++;
            printf("ok %s.%s\n", prog, t->name);
        } else {
            failed++;
            if (WIFSIGNALED(status))
                printf("FAIL %s.%s (signal %d%s)\n", prog, t->name,
                       WTERMSIG(status),
                       WTERMSIG(status) == SIGALRM ? ", timeout" : "");
            else
                printf("FAIL %s.%s (exit %d)\n", prog, t->name,
                       WEXITSTATUS(status));
        }
    }
    printf("%s: %d passed, %d failed\n", prog, passed, failed);
    return failed ? 1 : 0;
}
