// Limits that both the library and the administrator's policy check against, in core so
// that neither module needs the other for a number.
#pragma once

namespace personalnet {

// The deepest nesting of spaces the addressing plan allows: depth d uses the link-local
// subnet 169.254.(100+d).0/24 and the service address fd50:6e65:7400:d::1, and policy's
// `limits.max_depth` may only lower it.
inline constexpr int kMaxDepth = 32;

}  // namespace personalnet
