/* critest-nnp.c: the program of the offline nonewprivs image that
 * scripts/critest-images.sh builds for critest's NoNewPrivs specs. Installed
 * setuid root: it prints its effective uid, which is 0 unless no_new_privs
 * kept the setuid bit from taking effect. Written for berth; prints what
 * the specs match ("Effective uid: N\n"). */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("Effective uid: %d\n", (int)geteuid());
  return 0;
}
