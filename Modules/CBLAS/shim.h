// The CBLAS interface of OpenBLAS (Debian: libopenblas-dev, found with pkg-config `openblas`).
#ifndef LAYERNORMALIZATION_CBLAS_SHIM_H
#define LAYERNORMALIZATION_CBLAS_SHIM_H
#include <cblas.h>
#endif
