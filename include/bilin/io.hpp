// bilin/io.hpp — files in and out: checkpoints, pictures, plots, reports, flags.
//
// Contract: includes io/ (atomic file writes; JSON; safetensors, the checkpoint format PyTorch
// and NumPy read; images and colormaps; PNG/JPEG decoding and PNG encoding; SVG line plots;
// the self-contained HTML report; the command-line flag table). Pulls in core/ only, plus the
// stb_image / stb_image_write implementations through io/png.hpp: the only module headers that
// compile stb are this one and bilin/interp.hpp (whose figures are PNGs), so include the
// single io/ header you need when you want to stay without it.
#pragma once

#include "io/atomic_file.hpp"
#include "io/base64.hpp"
#include "io/flags.hpp"
#include "io/html_report.hpp"
#include "io/image.hpp"
#include "io/json.hpp"
#include "io/json_file.hpp"
#include "io/png.hpp"
#include "io/result_bundle.hpp"
#include "io/safetensors.hpp"
#include "io/svg.hpp"
#include "io/svg_heatmap.hpp"
