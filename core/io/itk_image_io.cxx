// core/io - the ITK wrapper behind innereye/image_io.h: the only C++ (and the
// only ITK user) in libinnereye.  Nothing C++ leaves this file: every entry
// point catches all exceptions and turns them into a status and a message.
//
// Single files are read through itk::ImageIOBase directly, in their stored
// voxel type, so a label map is checked in the type it was written in and no
// double-sized copy of a large volume is needed.  DICOM folders go through
// itk::ImageSeriesReader, which stacks and sorts the slices.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include <itkGDCMImageIO.h>
#include <itkGDCMImageIOFactory.h>
#include <itkGDCMSeriesFileNames.h>
#include <itkImage.h>
#include <itkImageIOBase.h>
#include <itkImageIOFactory.h>
#include <itkVersion.h>
#include <itkImageSeriesReader.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkNearestNeighborExtrapolateImageFunction.h>
#include <itkNearestNeighborInterpolateImageFunction.h>
#include <itkResampleImageFilter.h>
#include <itkMetaDataObject.h>
#include <itkMetaImageIOFactory.h>
#include <itkNiftiImageIOFactory.h>
#include <itkNrrdImageIOFactory.h>
#include <itkPNGImageIOFactory.h>

#include "core/io/image_geometry.h"
#include "core/io/file_check.h"
#include "core/io/dicom_select.h"
#include "innereye/image_io.h"

namespace {

using itk::IOComponentEnum;

const char *const kFormats = "NIfTI (.nii, .nii.gz), NRRD (.nrrd, .nhdr), MetaImage (.mha, .mhd), "
                             "DICOM (a file, or a folder holding one series), PNG (2-D, grey)";

// The IO factories are registered explicitly, once: linking ITK by target does
// not pull in ITK's auto-registration, and only these formats are wanted
// (PNG for 2-D classification datasets such as Fashion-MNIST).
void register_factories() {
    static std::once_flag once;
    std::call_once(once, [] {
        // Failures reach the caller as statuses; ITK's own warnings would only
        // be stray lines on stderr (the ones that matter are checked here).
        itk::Object::GlobalWarningDisplayOff();
        itk::NiftiImageIOFactory::RegisterOneFactory();
        itk::NrrdImageIOFactory::RegisterOneFactory();
        itk::MetaImageIOFactory::RegisterOneFactory();
        itk::GDCMImageIOFactory::RegisterOneFactory();
        itk::PNGImageIOFactory::RegisterOneFactory();
    });
}

// ITK's descriptions span lines and start "ITK ERROR: NrrdImageIO(0x55d0...): ";
// messages here are one line, without the object address.  Writes into a
// fixed buffer: it runs inside catch blocks, where allocating could throw.
const char *one_line(const char *text, char *buf, size_t size) noexcept {
    const char *start = text ? text : "";
    for (const char *prefix : {"ITK ERROR: ", "itk::ERROR: "}) {
        if (std::strncmp(start, prefix, std::strlen(prefix)) != 0) continue;
        const char *end = std::strstr(start, "): ");
        if (end) start = end + 3;
        break;
    }
    size_t n = 0;
    bool space = false;
    for (const char *p = start; *p && n + 2 < size; p++) {
        if (std::isspace((unsigned char)*p)) {
            space = n > 0;
            continue;
        }
        if (space) buf[n++] = ' ';
        space = false;
        buf[n++] = *p;
    }
    buf[n] = '\0';
    return buf;
}

// Every entry point runs its body through here, so no exception crosses the C API.
template <typename Body>
ie_status guarded(const char *op, const char *path, const char *hint, Body &&body) noexcept {
    char text[1536];
    try {
        return body();
    } catch (const itk::ExceptionObject &e) {
        return ie_error_set(IE_ERR_IO, "%s: %s: %s; %s", op, path, one_line(e.GetDescription(), text, sizeof text),
                            hint);
    } catch (const std::bad_alloc &) {
        return ie_error_set(IE_ERR_NOMEM, "%s: %s: out of memory", op, path);
    } catch (const std::exception &e) {
        return ie_error_set(IE_ERR_IO, "%s: %s: %s; %s", op, path, one_line(e.what(), text, sizeof text), hint);
    } catch (...) {
        return ie_error_set(IE_ERR_INTERNAL, "%s: %s: unknown exception from ITK", op, path);
    }
}

const char *const kReadHint = "check that the file is a complete, uncorrupted image (copy or export it again)";
const char *const kWriteHint = "check that the folder is writable and the disk is not full";

// Owns a tensor until it is handed to the caller.
struct TensorGuard {
    ie_tensor *t = nullptr;
    ~TensorGuard() { ie_tensor_release(t); }
    ie_tensor *release() {
        ie_tensor *r = t;
        t = nullptr;
        return r;
    }
};

// ---- reading ----

struct Header {
    int ndim = 0;                    // 2 or 3 after dropping trailing size-1 axes
    std::vector<itk::SizeValueType> file_dims; // as stored (may have extra size-1 axes)
    IOComponentEnum component = IOComponentEnum::UNKNOWNCOMPONENTTYPE;
    ie_image_geometry geometry{};
};

void identity_geometry(ie_image_geometry *g) {
    std::memset(g, 0, sizeof *g);
    for (int i = 0; i < 3; i++) {
        g->size[i] = 1;
        g->spacing[i] = 1.0;
        g->direction[i * 3 + i] = 1.0;
    }
}

// Checks what is common to files and series: scalar voxels, 2 or 3 axes
// (trailing axes of size 1 dropped), a sane geometry.  Fills h.ndim and
// h.geometry.size; the caller fills spacing, origin and direction.
ie_status check_shape(const char *op, const char *path, unsigned file_ndim, unsigned components,
                      const std::string &pixel, Header &h) {
    if (components != 1)
        return ie_error_set(IE_ERR_UNSUPPORTED,
                            "%s: %s has %u components per voxel (%s pixels); InnerEye reads scalar images "
                            "only: store each channel as its own file (one dataset.csv row per channel)",
                            op, path, components, pixel.c_str());
    unsigned n = file_ndim;
    while (n > 3 && h.file_dims[n - 1] == 1) n--;
    if (n > 3) {
        std::string dims;
        for (unsigned i = 0; i < file_ndim; i++) dims += (i ? "x" : "") + std::to_string(h.file_dims[i]);
        return ie_error_set(IE_ERR_UNSUPPORTED,
                            "%s: %s is a %u-D image (%s); InnerEye reads 2-D and 3-D images: split the "
                            "extra dimensions (time points, channels) into separate 3-D files",
                            op, path, file_ndim, dims.c_str());
    }
    if (n < 2)
        return ie_error_set(IE_ERR_UNSUPPORTED, "%s: %s is a %u-D image; InnerEye reads 2-D and 3-D images", op,
                            path, n);
    h.ndim = (int)n;
    identity_geometry(&h.geometry);
    h.geometry.ndim = h.ndim;
    for (unsigned i = 0; i < n; i++) {
        if (h.file_dims[i] < 1 || h.file_dims[i] > (itk::SizeValueType)std::numeric_limits<int64_t>::max())
            return ie_error_set(IE_ERR_IO, "%s: %s: header gives axis %u %llu voxels; %s", op, path, i,
                                (unsigned long long)h.file_dims[i], kReadHint);
        h.geometry.size[i] = (int64_t)h.file_dims[i];
    }
    return IE_OK;
}

ie_status check_geometry(const char *op, const char *path, const Header &h) {
    if (ie_image_geometry_check("header", &h.geometry) != IE_OK)
        return ie_error_wrap(IE_ERR_IO, "%s: %s holds an unusable geometry (fix the header with the tool that "
                                        "wrote it)", op, path);
    return IE_OK;
}

ie_status read_header(const char *op, const char *path, itk::ImageIOBase *io, Header &h) {
    io->SetFileName(path);
    io->ReadImageInformation();
    const unsigned nd = io->GetNumberOfDimensions();
    h.file_dims.resize(nd);
    for (unsigned i = 0; i < nd; i++) h.file_dims[i] = io->GetDimensions(i);
    IE_TRY(check_shape(op, path, nd, io->GetNumberOfComponents(),
                       itk::ImageIOBase::GetPixelTypeAsString(io->GetPixelType()), h));
    h.component = io->GetComponentType();
    const unsigned n = (unsigned)h.ndim;
    for (unsigned j = 0; j < n; j++) {
        // "+ 0.0" turns the -0 of ITK's RAS-to-LPS flips into 0 for messages.
        h.geometry.spacing[j] = io->GetSpacing(j);
        h.geometry.origin[j] = io->GetOrigin(j) + 0.0;
        const std::vector<double> axis = io->GetDirection(j);
        for (unsigned r = 0; r < n && r < axis.size(); r++) h.geometry.direction[r * 3 + j] = axis[r] + 0.0;
    }
    return check_geometry(op, path, h);
}

const char *label_range(ie_dtype dtype, int64_t &lo, int64_t &hi) {
    switch (dtype) {
    case IE_U8: lo = 0, hi = 255; return "0..255";
    case IE_I32: lo = INT32_MIN, hi = INT32_MAX; return "the int32 range";
    default: lo = INT64_MIN, hi = INT64_MAX; return "the int64 range";
    }
}

template <typename S>
bool fits(S v, int64_t lo, int64_t hi) {
    if constexpr (std::is_floating_point_v<S>)
        return v >= (S)lo && v < (S)hi + (S)1; // (S)hi + 1 is exact even where hi itself rounds
    else if constexpr (std::is_signed_v<S>)
        return (int64_t)v >= lo && (int64_t)v <= hi;
    else
        return (uint64_t)v <= (uint64_t)hi;
}

ie_status bad_label(const char *op, const char *path, const Header &h, int64_t i, long double value,
                    bool integral, ie_dtype dtype, const char *range) {
    const int64_t sx = h.geometry.size[0], sy = h.geometry.size[1];
    const long long x = (long long)(i % sx), y = (long long)(i / sx % sy), z = (long long)(i / (sx * sy));
    if (!integral)
        return ie_error_set(IE_ERR_IO,
                            "%s: %s: voxel (x %lld, y %lld, z %lld) is %.9Lg, not an integer, so the image "
                            "cannot be read as a %s label map; labels resampled with linear interpolation "
                            "look like this: resample them with nearest neighbour, or read the image as f32",
                            op, path, x, y, z, value, ie_dtype_name(dtype));
    return ie_error_set(IE_ERR_IO,
                        "%s: %s: voxel (x %lld, y %lld, z %lld) is %.9Lg, outside %s of %s labels; read it "
                        "with a wider label type (i32 or i64)",
                        op, path, x, y, z, value, range, ie_dtype_name(dtype));
}

// Converts n stored voxels of type S into the tensor's type, checking labels.
template <typename S>
ie_status convert(const char *op, const char *path, const Header &h, const void *src_v, int64_t n,
                  ie_tensor *t) {
    const S *src = static_cast<const S *>(src_v);
    const ie_dtype dtype = ie_tensor_dtype(t);
    if (dtype == IE_F32) {
        float *dst = ie_tensor_data_f32(t);
        for (int64_t i = 0; i < n; i++) dst[i] = (float)src[i];
        return IE_OK;
    }
    int64_t lo, hi;
    const char *range = label_range(dtype, lo, hi);
    for (int64_t i = 0; i < n; i++) {
        const S v = src[i];
        if constexpr (std::is_floating_point_v<S>) {
            if (!std::isfinite(v) || v != std::floor(v))
                return bad_label(op, path, h, i, (long double)v, false, dtype, range);
        }
        if (!fits(v, lo, hi)) return bad_label(op, path, h, i, (long double)v, true, dtype, range);
    }
    void *dst = ie_tensor_data(t);
    switch (dtype) {
    case IE_U8:
        for (int64_t i = 0; i < n; i++) static_cast<uint8_t *>(dst)[i] = (uint8_t)src[i];
        break;
    case IE_I32:
        for (int64_t i = 0; i < n; i++) static_cast<int32_t *>(dst)[i] = (int32_t)src[i];
        break;
    default:
        for (int64_t i = 0; i < n; i++) static_cast<int64_t *>(dst)[i] = (int64_t)src[i];
        break;
    }
    return IE_OK;
}

ie_status convert_any(const char *op, const char *path, const Header &h, const void *src, int64_t n,
                      ie_tensor *t) {
    switch (h.component) {
    case IOComponentEnum::UCHAR: return convert<unsigned char>(op, path, h, src, n, t);
    case IOComponentEnum::CHAR: return convert<signed char>(op, path, h, src, n, t);
    case IOComponentEnum::USHORT: return convert<unsigned short>(op, path, h, src, n, t);
    case IOComponentEnum::SHORT: return convert<short>(op, path, h, src, n, t);
    case IOComponentEnum::UINT: return convert<unsigned int>(op, path, h, src, n, t);
    case IOComponentEnum::INT: return convert<int>(op, path, h, src, n, t);
    case IOComponentEnum::ULONG: return convert<unsigned long>(op, path, h, src, n, t);
    case IOComponentEnum::LONG: return convert<long>(op, path, h, src, n, t);
    case IOComponentEnum::ULONGLONG: return convert<unsigned long long>(op, path, h, src, n, t);
    case IOComponentEnum::LONGLONG: return convert<long long>(op, path, h, src, n, t);
    case IOComponentEnum::FLOAT: return convert<float>(op, path, h, src, n, t);
    case IOComponentEnum::DOUBLE: return convert<double>(op, path, h, src, n, t);
    case IOComponentEnum::LDOUBLE: return convert<long double>(op, path, h, src, n, t);
    default: break;
    }
    return ie_error_set(IE_ERR_UNSUPPORTED, "%s: %s: voxel type '%s' is not supported; convert the image to a "
                                            "standard integer or floating-point type",
                        op, path, itk::ImageIOBase::GetComponentTypeAsString(h.component).c_str());
}

// True when the stored voxels are already the tensor's bytes (no copy, no check needed).
bool same_bytes(IOComponentEnum c, ie_dtype dtype) {
    switch (dtype) {
    case IE_F32: return c == IOComponentEnum::FLOAT;
    case IE_U8: return c == IOComponentEnum::UCHAR;
    case IE_I32: return c == IOComponentEnum::INT;
    case IE_I64: return (c == IOComponentEnum::LONG && sizeof(long) == 8) || c == IOComponentEnum::LONGLONG;
    }
    return false;
}

ie_status new_tensor(const Header &h, ie_dtype dtype, TensorGuard &guard) {
    int64_t shape[3];
    const int nd = ie_image_geometry_shape(&h.geometry, shape);
    return ie_tensor_empty(dtype, nd, shape, IE_CPU, &guard.t);
}

ie_status read_file(const char *op, const char *path, ie_dtype dtype, ie_tensor **out, ie_image_geometry *geometry) {
    itk::ImageIOBase::Pointer io = itk::ImageIOFactory::CreateImageIO(path, itk::IOFileModeEnum::ReadMode);
    if (!io && ie_nifti2_header(path))
        return ie_error_set(IE_ERR_UNSUPPORTED,
                            "%s: %s is NIfTI-2, which ITK 5.2 cannot read; save it as NIfTI-1 (for example "
                            "nibabel's Nifti1Image) or as .nrrd/.mha",
                            op, path);
    if (!io)
        return ie_error_set(IE_ERR_IO,
                            "%s: %s is not an image any reader recognises (or its header is damaged); "
                            "InnerEye reads %s",
                            op, path, kFormats);
    // ITK's MetaIO overflows its buffers on over-long header lines (file_check.h).
    if (std::strcmp(io->GetNameOfClass(), "MetaImageIO") == 0) IE_TRY(ie_metaimage_header_check(op, path));
    // ... and aborts the process on a NaN or infinite NIfTI orientation field.
    if (std::strcmp(io->GetNameOfClass(), "NiftiImageIO") == 0) IE_TRY(ie_nifti_header_check(op, path));
    // ... and its PNG reader lets libpng abort the process on a damaged PNG.
    if (std::strcmp(io->GetNameOfClass(), "PNGImageIO") == 0) IE_TRY(ie_png_check(op, path));
    Header h;
    IE_TRY(read_header(op, path, io, h));
    if (geometry) *geometry = h.geometry;
    if (!out) return IE_OK;

    const char *reader = io->GetNameOfClass();
    if (std::strcmp(reader, "NiftiImageIO") == 0) IE_TRY(ie_nifti_check(op, path));
    if (std::strcmp(reader, "MetaImageIO") == 0) IE_TRY(ie_metaimage_check(op, path));
    TensorGuard guard;
    IE_TRY(new_tensor(h, dtype, guard));
    const int64_t n = ie_tensor_numel(guard.t);
    itk::ImageIORegion region(h.file_dims.size());
    for (unsigned i = 0; i < h.file_dims.size(); i++) {
        region.SetIndex(i, 0);
        region.SetSize(i, h.file_dims[i]);
    }
    io->SetIORegion(region);
    if (same_bytes(h.component, dtype)) {
        io->Read(ie_tensor_data(guard.t));
    } else {
        std::vector<unsigned char> stored((size_t)n * io->GetComponentSize());
        io->Read(stored.data());
        IE_TRY(convert_any(op, path, h, stored.data(), n, guard.t));
    }
    *out = guard.release();
    return IE_OK;
}

// ---- DICOM series ----

// Slice gaps may differ from the mean by 1% (positions are rounded decimal
// strings in DICOM); a missing slice deviates by 100%.
const double kSliceSpacingTolerance = 0.01;

std::vector<std::string> series_files(const char *op, const char *path, ie_status &st) {
    auto names = itk::GDCMSeriesFileNames::New();
    names->SetUseSeriesDetails(true);
    names->SetDirectory(path);
    const std::vector<std::string> &uids = names->GetSeriesUIDs();
    if (uids.empty()) {
        st = ie_error_set(IE_ERR_IO,
                          "%s: %s is a folder without a DICOM series; give an image file (%s) or a folder "
                          "of DICOM slices",
                          op, path, kFormats);
        return {};
    }
    if (uids.size() > 1 || ie_image_dicom_series_selector()[0]) {
        // Taking the first series would train on whichever GDCM lists first:
        // the selector (data.dicom_series) names one, or the error lists them.
        char uid[IE_DICOM_UID_MAX];
        st = ie_dicom_series_pick(path, uid);
        if (st != IE_OK) return {};
        auto plain = itk::GDCMSeriesFileNames::New();
        plain->SetUseSeriesDetails(false); // identifiers are then the plain Series Instance UIDs
        plain->SetDirectory(path);
        std::vector<std::string> files = plain->GetFileNames(uid);
        if (files.empty())
            st = ie_error_set(IE_ERR_IO, "%s: %s: GDCM finds no file of series %s", op, path, uid);
        return files;
    }
    std::vector<std::string> files = names->GetFileNames(uids.front());
    st = IE_OK;
    return files;
}

template <typename T>
ie_status read_series_as(const char *op, const char *path, const std::vector<std::string> &files,
                         ie_dtype dtype, ie_tensor **out, ie_image_geometry *geometry) {
    using Image = itk::Image<T, 3>;
    auto reader = itk::ImageSeriesReader<Image>::New();
    auto io = itk::GDCMImageIO::New();
    reader->SetImageIO(io);
    reader->SetFileNames(files);
    reader->UpdateOutputInformation();

    Header h;
    const typename Image::RegionType region = reader->GetOutput()->GetLargestPossibleRegion();
    h.file_dims = {region.GetSize(0), region.GetSize(1), region.GetSize(2)};
    IE_TRY(check_shape(op, path, 3, io->GetNumberOfComponents(),
                       itk::ImageIOBase::GetPixelTypeAsString(io->GetPixelType()), h));
    const Image *image = reader->GetOutput();
    for (unsigned j = 0; j < 3; j++) {
        h.geometry.spacing[j] = image->GetSpacing()[j];
        h.geometry.origin[j] = image->GetOrigin()[j] + 0.0;
        for (unsigned r = 0; r < 3; r++) h.geometry.direction[r * 3 + j] = image->GetDirection()(r, j) + 0.0;
    }
    IE_TRY(check_geometry(op, path, h));
    if (geometry) *geometry = h.geometry;
    if (!out) return IE_OK;

    reader->Update();
    // ITK only warns about uneven slices; the voxel grid would then misplace
    // every slice after the gap, so such a series is refused.
    double deviation = 0;
    const double spacing_z = h.geometry.spacing[2];
    if (itk::ExposeMetaData<double>(reader->GetOutput()->GetMetaDataDictionary(), "ITK_non_uniform_sampling_deviation",
                                    deviation) &&
        deviation > kSliceSpacingTolerance * spacing_z)
        return ie_error_set(IE_ERR_UNSUPPORTED,
                            "%s: %s: the %zu slices are not evenly spaced (a gap deviates %g mm from the mean "
                            "spacing %g mm), or slices are missing; InnerEye needs a regular grid: check the "
                            "series is complete, or resample it to even spacing",
                            op, path, files.size(), deviation, spacing_z);
    h.component = std::is_same_v<T, float> ? IOComponentEnum::FLOAT : IOComponentEnum::DOUBLE;
    TensorGuard guard;
    IE_TRY(new_tensor(h, dtype, guard));
    const int64_t n = ie_tensor_numel(guard.t);
    IE_TRY(convert<T>(op, path, h, reader->GetOutput()->GetBufferPointer(), n, guard.t));
    *out = guard.release();
    return IE_OK;
}

ie_status read_series(const char *op, const char *path, ie_dtype dtype, ie_tensor **out,
                      ie_image_geometry *geometry) {
    ie_status st;
    const std::vector<std::string> files = series_files(op, path, st);
    IE_TRY(st);
    // Labels are checked in double, which holds every DICOM integer voxel exactly.
    if (out && dtype != IE_F32) return read_series_as<double>(op, path, files, dtype, out, geometry);
    return read_series_as<float>(op, path, files, dtype, out, geometry);
}

ie_status read_any(const char *op, const char *path, ie_dtype dtype, ie_tensor **out, ie_image_geometry *geometry) {
    if (!path) return ie_error_set(IE_ERR_INVALID_ARG, "%s: path is NULL", op);
    if (out) *out = nullptr;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return ie_error_set(IE_ERR_IO, "%s: %s: %s; check the path (relative paths start at %s)", op, path,
                            std::strerror(errno), "the current folder");
    return guarded(op, path, kReadHint, [&]() -> ie_status {
        register_factories();
        if (S_ISDIR(sb.st_mode)) return read_series(op, path, dtype, out, geometry);
        if (!S_ISREG(sb.st_mode))
            return ie_error_set(IE_ERR_IO, "%s: %s is not a regular file or a folder", op, path);
        return read_file(op, path, dtype, out, geometry);
    });
}

// ---- writing ----

bool ends_with(const std::string &s, const char *suffix) {
    const size_t n = std::strlen(suffix);
    if (s.size() < n) return false;
    for (size_t i = 0; i < n; i++)
        if (std::tolower((unsigned char)s[s.size() - n + i]) != suffix[i]) return false;
    return true;
}

// The extension ITK chooses the format by, or NULL when it cannot be written atomically here.
const char *write_extension(const std::string &path) {
    for (const char *ext : {".nii.gz", ".nii", ".nrrd", ".mha", ".png"})
        if (ends_with(path, ext)) return ext;
    return nullptr;
}

// Stored voxels for the file: the tensor's own bytes, or a narrowed copy of labels.
struct Voxels {
    const void *data = nullptr;
    IOComponentEnum component = IOComponentEnum::UNKNOWNCOMPONENTTYPE;
    std::vector<uint8_t> u8;
    std::vector<int32_t> i32;
};

template <typename T>
ie_status narrow_labels(const char *op, const char *path, const T *src, int64_t n, Voxels &v) {
    T lo = 0, hi = 0;
    for (int64_t i = 0; i < n; i++) {
        if (src[i] < lo) lo = src[i];
        if (src[i] > hi) hi = src[i];
    }
    if (lo >= 0 && hi <= 255) {
        v.u8.resize((size_t)n);
        for (int64_t i = 0; i < n; i++) v.u8[(size_t)i] = (uint8_t)src[i];
        v.data = v.u8.data();
        v.component = IOComponentEnum::UCHAR;
        return IE_OK;
    }
    if ((int64_t)lo < INT32_MIN || (int64_t)hi > INT32_MAX)
        return ie_error_set(IE_ERR_UNSUPPORTED,
                            "%s: %s: label values span %lld..%lld, beyond int32, which is the widest label type "
                            "written; renumber the labels",
                            op, path, (long long)lo, (long long)hi);
    v.component = IOComponentEnum::INT;
    if constexpr (std::is_same_v<T, int32_t>) {
        v.data = src;
    } else {
        v.i32.resize((size_t)n);
        for (int64_t i = 0; i < n; i++) v.i32[(size_t)i] = (int32_t)src[i];
        v.data = v.i32.data();
    }
    return IE_OK;
}

ie_status choose_voxels(const char *op, const char *path, const ie_tensor *t, Voxels &v) {
    const int64_t n = ie_tensor_numel(t);
    switch (ie_tensor_dtype(t)) {
    case IE_F32:
        v.data = ie_tensor_data(t);
        v.component = IOComponentEnum::FLOAT;
        return IE_OK;
    case IE_U8:
        v.data = ie_tensor_data(t);
        v.component = IOComponentEnum::UCHAR;
        return IE_OK;
    case IE_I32: return narrow_labels(op, path, static_cast<const int32_t *>(ie_tensor_data(t)), n, v);
    case IE_I64: return narrow_labels(op, path, static_cast<const int64_t *>(ie_tensor_data(t)), n, v);
    }
    return ie_error_set(IE_ERR_DTYPE, "%s: %s: cannot write tensor of dtype %d", op, path, (int)ie_tensor_dtype(t));
}

ie_status check_write_args(const char *op, const char *path, const ie_tensor *t, const ie_image_geometry *g) {
    char desc[128];
    ie_tensor_describe(t, desc, sizeof desc);
    if (ie_tensor_device(t) != IE_CPU)
        return ie_error_set(IE_ERR_DEVICE, "%s: %s: tensor %s is on %s; copy it to the CPU first", op, path, desc,
                            ie_device_name(ie_tensor_device(t)));
    if (ie_image_geometry_check((std::string(op) + ": " + path).c_str(), g) != IE_OK) return IE_ERR_INVALID_ARG;
    int64_t shape[3];
    const int nd = ie_image_geometry_shape(g, shape);
    bool match = ie_tensor_ndim(t) == nd;
    for (int i = 0; match && i < nd; i++) match = ie_tensor_dim(t, i) == shape[i];
    if (!match) {
        char gdesc[512];
        return ie_error_set(IE_ERR_SHAPE,
                            "%s: %s: tensor %s does not match the geometry (%s), which needs a [%s] tensor "
                            "(z, y, x order)",
                            op, path, desc, ie_image_geometry_describe(g, gdesc, sizeof gdesc),
                            nd == 3 ? (std::to_string(shape[0]) + ", " + std::to_string(shape[1]) + ", " +
                                       std::to_string(shape[2])).c_str()
                                    : (std::to_string(shape[0]) + ", " + std::to_string(shape[1])).c_str());
    }
    return IE_OK;
}

// Best effort: a failed fsync must not fail a write that otherwise succeeded
// on file systems that do not support it.
void sync_path(const std::string &p, int flags) {
    const int fd = open(p.c_str(), flags | O_CLOEXEC);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

// Removes the temporary file unless the write reached its rename.
struct TempFile {
    std::string path;
    bool keep = false;
    ~TempFile() {
        if (!keep && !path.empty()) unlink(path.c_str());
    }
};

size_t component_size(IOComponentEnum c) {
    return c == IOComponentEnum::UCHAR ? 1 : 4; /* what choose_voxels writes: uchar, int or float */
}

// ITK's writers do not all report a failed write: the NIfTI writer prints
// "** ERROR: NWAD: wrote only N of M bytes" and returns, so a full disk left
// truncated images under their final names.  The temporary file is
// therefore checked before it is renamed: NIfTI for completeness (length and
// gzip stream with its CRC; reading it back would turn a NaN we wrote into 0),
// the other formats by reading the voxels back and comparing bytes.
ie_status write_failed(const char *op, const char *path, const std::string &tmp) {
    struct statvfs fs;
    const bool full = statvfs(tmp.c_str(), &fs) == 0 && (double)fs.f_bavail * (double)fs.f_frsize < 1048576.0;
    return ie_error_set(IE_ERR_IO, "%s: %s: writing failed: the file came out incomplete%s; %s (nothing was written "
                        "under this name)", op, path,
                        full ? " (the file system holding it is full)" : "", kWriteHint);
}

ie_status verify_written(const char *op, const char *path, const std::string &tmp, const char *ext,
                         const Voxels &voxels, int64_t n) {
    if (ext[1] == 'n' && ext[2] == 'i')
        return ie_nifti_check_complete(op, tmp.c_str()) == IE_OK ? IE_OK : write_failed(op, path, tmp);
    if (std::strcmp(ext, ".mha") == 0 && ie_metaimage_check(op, tmp.c_str()) != IE_OK)
        return write_failed(op, path, tmp);
    itk::ImageIOBase::Pointer io = itk::ImageIOFactory::CreateImageIO(tmp.c_str(), itk::IOFileModeEnum::ReadMode);
    const size_t bytes = (size_t)n * component_size(voxels.component);
    std::vector<unsigned char> back(bytes);
    bool same = false;
    if (io) {
        io->SetFileName(tmp);
        io->ReadImageInformation();
        itk::ImageIORegion region(io->GetNumberOfDimensions());
        for (unsigned i = 0; i < io->GetNumberOfDimensions(); i++) {
            region.SetIndex(i, 0);
            region.SetSize(i, io->GetDimensions(i));
        }
        io->SetIORegion(region);
        same = io->GetComponentType() == voxels.component && (size_t)io->GetImageSizeInBytes() == bytes;
        if (same) {
            io->Read(back.data());
            same = std::memcmp(back.data(), voxels.data, bytes) == 0;
        }
    }
    return same ? IE_OK : write_failed(op, path, tmp);
}

ie_status write_image(const char *op, const char *path, const ie_tensor *t, const ie_image_geometry *g) {
    const std::string dest(path);
    const char *ext = write_extension(dest);
    if (!ext)
        return ie_error_set(IE_ERR_UNSUPPORTED,
                            "%s: %s: cannot write this format; use .nii.gz, .nii, .nrrd, .mha or .png (two-file "
                            "formats such as .mhd and .nhdr cannot be written atomically)",
                            op, path);
    const size_t slash = dest.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : dest.substr(0, slash);
    const std::string base = dest.substr(slash == std::string::npos ? 0 : slash + 1);
    const std::string stem = base.substr(0, base.size() - std::strlen(ext));
    struct stat sb;
    if (stat(dir.c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode))
        return ie_error_set(IE_ERR_IO, "%s: %s: folder %s does not exist; create it first", op, path, dir.c_str());
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return ie_error_set(IE_ERR_IO, "%s: %s is a folder; give a file name ending in %s", op, path, ext);

    if (ext[1] == 'n' && ext[2] == 'i') // .nii, .nii.gz: ITK 5.2 writes NIfTI-1, whose sizes are int16
        for (int j = 0; j < g->ndim; j++)
            if (g->size[j] > 32767)
                return ie_error_set(IE_ERR_UNSUPPORTED,
                                    "%s: %s: NIfTI-1 holds at most 32767 voxels per axis, axis %d has %lld; write "
                                    ".nrrd or .mha instead",
                                    op, path, j, (long long)g->size[j]);
    Voxels voxels;
    IE_TRY(choose_voxels(op, path, t, voxels));
    if (std::strcmp(ext, ".png") == 0 && (g->ndim != 2 || voxels.component != IOComponentEnum::UCHAR))
        return ie_error_set(IE_ERR_UNSUPPORTED,
                            "%s: %s: PNG holds 2-D 8-bit grey images (u8, or labels 0..255); this is a %d-D %s "
                            "image: write .nii.gz, .nrrd or .mha instead",
                            op, path, g->ndim, voxels.component == IOComponentEnum::FLOAT ? "float" : "int32");

    // The temporary name keeps the extension (ITK picks the format by it) and
    // is unique per process and call, so concurrent writers never collide.
    static std::atomic<unsigned long> counter{0};
    TempFile tmp;
    tmp.path = (slash == std::string::npos ? std::string() : dest.substr(0, slash + 1)) + "." + stem + ".tmp-" +
               std::to_string((long)getpid()) + "-" + std::to_string(counter.fetch_add(1)) + ext;

    itk::ImageIOBase::Pointer io = itk::ImageIOFactory::CreateImageIO(tmp.path.c_str(), itk::IOFileModeEnum::WriteMode);
    if (!io) return ie_error_set(IE_ERR_INTERNAL, "%s: %s: no ITK writer for %s files", op, path, ext);
    const unsigned nd = (unsigned)g->ndim;
    io->SetNumberOfDimensions(nd);
    itk::ImageIORegion region(nd);
    for (unsigned j = 0; j < nd; j++) {
        io->SetDimensions(j, (itk::SizeValueType)g->size[j]);
        io->SetSpacing(j, g->spacing[j]);
        io->SetOrigin(j, g->origin[j]);
        std::vector<double> axis(nd);
        for (unsigned r = 0; r < nd; r++) axis[r] = g->direction[r * 3 + j];
        io->SetDirection(j, axis);
        region.SetIndex(j, 0);
        region.SetSize(j, (itk::SizeValueType)g->size[j]);
    }
    io->SetPixelType(itk::IOPixelEnum::SCALAR);
    io->SetNumberOfComponents(1);
    io->SetComponentType(voxels.component);
    io->SetUseCompression(std::strcmp(ext, ".nii") != 0);
    io->SetFileName(tmp.path);
    io->SetIORegion(region);
    io->Write(voxels.data);
    IE_TRY(verify_written(op, path, tmp.path, ext, voxels, ie_tensor_numel(t)));

    sync_path(tmp.path, O_RDONLY);
    if (rename(tmp.path.c_str(), path) != 0)
        return ie_error_set(IE_ERR_IO, "%s: %s: cannot rename the temporary file %s into place: %s", op, path,
                            tmp.path.c_str(), std::strerror(errno));
    tmp.keep = true;
    sync_path(dir, O_RDONLY | O_DIRECTORY);
    return IE_OK;
}

// ---- resampling ----

template <typename T, unsigned D>
typename itk::Image<T, D>::Pointer wrap_tensor(const ie_tensor *t, const ie_image_geometry *g) {
    using Image = itk::Image<T, D>;
    typename Image::Pointer image = Image::New();
    typename Image::RegionType region;
    typename Image::SpacingType spacing;
    typename Image::PointType origin;
    typename Image::DirectionType direction;
    for (unsigned j = 0; j < D; j++) {
        region.SetIndex(j, 0);
        region.SetSize(j, (itk::SizeValueType)g->size[j]);
        spacing[j] = g->spacing[j];
        origin[j] = g->origin[j];
        for (unsigned r = 0; r < D; r++) direction(r, j) = g->direction[r * 3 + j];
    }
    image->SetRegions(region);
    image->SetSpacing(spacing);
    image->SetOrigin(origin);
    image->SetDirection(direction);
    // The filter only reads its input: the tensor's buffer is used in place.
    image->GetPixelContainer()->SetImportPointer(static_cast<T *>(const_cast<void *>(ie_tensor_data(t))),
                                                 (itk::SizeValueType)ie_tensor_numel(t), false);
    return image;
}

template <typename T, unsigned D>
ie_status resample_as(const ie_tensor *t, const ie_image_geometry *g, const ie_image_geometry *target,
                      ie_interpolation interpolation, ie_tensor **out) {
    using Image = itk::Image<T, D>;
    auto input = wrap_tensor<T, D>(t, g);
    auto filter = itk::ResampleImageFilter<Image, Image>::New();
    filter->SetInput(input);
    if (interpolation == IE_INTERP_LINEAR)
        filter->SetInterpolator(itk::LinearInterpolateImageFunction<Image, double>::New());
    else
        filter->SetInterpolator(itk::NearestNeighborInterpolateImageFunction<Image, double>::New());
    filter->SetExtrapolator(itk::NearestNeighborExtrapolateImageFunction<Image, double>::New());
    typename Image::SizeType size;
    typename Image::SpacingType spacing;
    typename Image::PointType origin;
    typename Image::DirectionType direction;
    for (unsigned j = 0; j < D; j++) {
        size[j] = (itk::SizeValueType)target->size[j];
        spacing[j] = target->spacing[j];
        origin[j] = target->origin[j];
        for (unsigned r = 0; r < D; r++) direction(r, j) = target->direction[r * 3 + j];
    }
    filter->SetSize(size);
    filter->SetOutputSpacing(spacing);
    filter->SetOutputOrigin(origin);
    filter->SetOutputDirection(direction);
    filter->SetDefaultPixelValue(0);
    // One work unit: the data loader already runs one subject per worker, and
    // every output voxel is computed alone, so results never depend on it.
    filter->SetNumberOfWorkUnits(1);
    filter->Update();
    TensorGuard guard;
    int64_t shape[3];
    const int nd = ie_image_geometry_shape(target, shape);
    IE_TRY(ie_tensor_empty(ie_tensor_dtype(t), nd, shape, IE_CPU, &guard.t));
    std::memcpy(ie_tensor_data(guard.t), filter->GetOutput()->GetBufferPointer(),
                (size_t)ie_tensor_numel(guard.t) * sizeof(T));
    *out = guard.release();
    return IE_OK;
}

template <unsigned D>
ie_status resample_dim(const ie_tensor *t, const ie_image_geometry *g, const ie_image_geometry *target,
                       ie_interpolation interpolation, ie_tensor **out) {
    switch (ie_tensor_dtype(t)) {
    case IE_F32: return resample_as<float, D>(t, g, target, interpolation, out);
    case IE_I64: return resample_as<int64_t, D>(t, g, target, interpolation, out);
    case IE_I32: return resample_as<int32_t, D>(t, g, target, interpolation, out);
    case IE_U8: return resample_as<uint8_t, D>(t, g, target, interpolation, out);
    }
    return ie_error_set(IE_ERR_DTYPE, "ie_image_resample: unknown dtype");
}

} // namespace

extern "C" {

ie_status ie_image_resampled_geometry(const ie_image_geometry *geometry, const double spacing[3],
                                      ie_image_geometry *out) {
    const char *op = "ie_image_resampled_geometry";
    if (!geometry || !spacing || !out) return ie_error_set(IE_ERR_INVALID_ARG, "%s: NULL argument", op);
    IE_TRY(ie_image_geometry_check(op, geometry));
    ie_image_geometry g = *geometry;
    for (int j = 0; j < g.ndim; j++) {
        if (!(spacing[j] > 0) || !std::isfinite(spacing[j]))
            return ie_error_set(IE_ERR_INVALID_ARG, "%s: target spacing %g along axis %d; it must be positive", op,
                                spacing[j], j);
        const double n = std::round((double)geometry->size[j] * geometry->spacing[j] / spacing[j]);
        if (n > 1e7)
            return ie_error_set(IE_ERR_INVALID_ARG, "%s: %lld voxels at %g mm resampled to %g mm would give %.0f "
                                "voxels along axis %d", op, (long long)geometry->size[j], geometry->spacing[j],
                                spacing[j], n, j);
        g.size[j] = n < 1 ? 1 : (int64_t)n;
        g.spacing[j] = spacing[j];
    }
    *out = g;
    return IE_OK;
}

ie_status ie_image_resample_to(const ie_tensor *t, const ie_image_geometry *geometry,
                               const ie_image_geometry *target, ie_interpolation interpolation,
                               ie_tensor **out) {
    const char *op = "ie_image_resample";
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "%s: out is NULL", op);
    *out = nullptr;
    if (!t || !geometry || !target) return ie_error_set(IE_ERR_INVALID_ARG, "%s: NULL argument", op);
    IE_TRY(ie_image_geometry_check(op, geometry));
    IE_TRY(ie_image_geometry_check(op, target));
    char a[64];
    int64_t shape[3];
    const int nd = ie_image_geometry_shape(geometry, shape);
    bool fits = ie_tensor_ndim(t) == nd && geometry->ndim == target->ndim;
    for (int i = 0; fits && i < nd; i++) fits = ie_tensor_dim(t, i) == shape[i];
    if (!fits)
        return ie_error_set(IE_ERR_SHAPE, "%s: tensor %s does not match its %d-D geometry (or the target is %d-D)", op,
                            ie_tensor_describe(t, a, sizeof a), geometry->ndim, target->ndim);
    if (ie_tensor_device(t) != IE_CPU)
        return ie_error_set(IE_ERR_DEVICE, "%s: the tensor must be on the CPU", op);
    if (interpolation != IE_INTERP_NEAREST && interpolation != IE_INTERP_LINEAR)
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: unknown interpolation %d", op, (int)interpolation);
    if (interpolation == IE_INTERP_LINEAR && ie_tensor_dtype(t) != IE_F32)
        return ie_error_set(IE_ERR_DTYPE, "%s: linear interpolation needs f32 intensities, got %s; resample label "
                            "maps with nearest neighbour so they keep their values", op,
                            ie_dtype_name(ie_tensor_dtype(t)));
    return guarded(op, "(tensor)", "", [&]() -> ie_status {
        return nd == 3 ? resample_dim<3>(t, geometry, target, interpolation, out)
                       : resample_dim<2>(t, geometry, target, interpolation, out);
    });
}

ie_status ie_image_resample(const ie_tensor *t, const ie_image_geometry *geometry, const double spacing[3],
                            ie_interpolation interpolation, ie_tensor **out, ie_image_geometry *out_geometry) {
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "ie_image_resample: out is NULL");
    *out = nullptr;
    ie_image_geometry target;
    IE_TRY(ie_image_resampled_geometry(geometry, spacing, &target));
    IE_TRY(ie_image_resample_to(t, geometry, &target, interpolation, out));
    if (out_geometry) *out_geometry = target;
    return IE_OK;
}

ie_status ie_image_read(const char *path, ie_dtype dtype, ie_tensor **out, ie_image_geometry *geometry) {
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "ie_image_read: out is NULL");
    // C callers may pass any int; in C++ loading an out-of-range enum is
    // undefined, so the value is checked through its bytes.
    int value;
    static_assert(sizeof value == sizeof dtype, "ie_dtype is an int");
    std::memcpy(&value, &dtype, sizeof value);
    if (value != IE_F32 && value != IE_I64 && value != IE_I32 && value != IE_U8)
        return ie_error_set(IE_ERR_INVALID_ARG, "ie_image_read: %s: unknown dtype %d", path ? path : "(NULL)", value);
    return read_any("ie_image_read", path, dtype, out, geometry);
}

ie_status ie_image_read_geometry(const char *path, ie_image_geometry *geometry) {
    if (!geometry) return ie_error_set(IE_ERR_INVALID_ARG, "ie_image_read_geometry: geometry is NULL");
    return read_any("ie_image_read_geometry", path, IE_F32, nullptr, geometry);
}

ie_status ie_image_write(const char *path, const ie_tensor *t, const ie_image_geometry *geometry) {
    const char *op = "ie_image_write";
    if (!path || !t || !geometry)
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: path, tensor and geometry must not be NULL", op);
    return guarded(op, path, kWriteHint, [&]() -> ie_status {
        IE_TRY(check_write_args(op, path, t, geometry));
        register_factories();
        return write_image(op, path, t, geometry);
    });
}

} // extern "C"

extern "C" const char *ie_image_io_version(void) {
    static const std::string version = std::string("ITK ") + itk::Version::GetITKVersion();
    return version.c_str();
}
