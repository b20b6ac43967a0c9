/* SPDX-License-Identifier: MIT */
/* placeholder: the transport's unit tests are being written */
int main(void) {
        return 77;
}
