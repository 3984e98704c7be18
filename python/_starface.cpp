// _starface: OpenFace 3.0's LandmarkDetector and FaceDetector over starface's Engine and
// Detector (../shared/reference/ecosystem.md section 2). NumPy arrays in and out; the GIL
// is released while a network runs; starface::Error becomes ValueError, FileNotFoundError
// or RuntimeError carrying the C++ message.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "core/error.h"
#include "core/threads.h"
#include "engine/detector.h"
#include "engine/engine.h"
#include "nets/common/face_geometry.h"
#include "pipeline/auto_model.h"
#include "vision/face_detector.h"
#include "vision/face_landmarks.h"
#include "vision/image.h"

namespace py = pybind11;

namespace starface::python {

namespace {

[[noreturn]] void bad_argument(const std::string& message) {
  throw Error(ErrorCode::kBadArgument, message);
}

// CPU only: OpenFace's 'cuda' has no counterpart here, and silently running on the CPU
// instead would hide the difference.
void check_device(const std::string& device) {
  if (device != "cpu") {
    bad_argument("device: starface runs on the CPU only ('cpu'), got '" + device + "'");
  }
}

EngineOptions engine_options(const py::object& threads, const std::string& backend,
                             const std::string& weights, const std::string& precision) {
  EngineOptions o;
  o.backend = backend;
  o.weights = checkpoint_entry(weights);
  o.precision = parse_requested_precision(precision);  // ValueError naming the choices
  if (!threads.is_none()) {
    const int t = threads.cast<int>();
    if (t < 1) bad_argument("threads must be None or >= 1, got " + std::to_string(t));
    o.threads = t;
  }
  return o;
}

std::string shape_text(const py::array& a) {
  std::ostringstream s;
  s << "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s << (i ? ", " : "") << a.shape(i);
  s << (a.ndim() == 1 ? ",)" : ")");
  return s.str();
}

std::string dtype_text(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

// A BGR uint8 HxWx3 array, or a path read as cv2.imread(path, IMREAD_COLOR) would.
// Returns the Mat and keeps the array it views alive in `keep`.
cv::Mat to_image(const py::object& image, py::object& keep, const char* what) {
  if (py::isinstance<py::str>(image) || py::hasattr(image, "__fspath__")) {
    const std::string path = py::module_::import("os").attr("fspath")(image).cast<std::string>();
    py::gil_scoped_release release;
    return vision::read_image(path);
  }
  if (!py::isinstance<py::array>(image)) {
    bad_argument(std::string(what) + " must be a BGR uint8 HxWx3 numpy array or a path");
  }
  py::array a = image.cast<py::array>();
  if (!a.dtype().is(py::dtype::of<uint8_t>()) || a.ndim() != 3 || a.shape(2) != 3) {
    bad_argument(std::string(what) + " must be a BGR uint8 HxWx3 array, got " + dtype_text(a) +
                 " " + shape_text(a));
  }
  if (a.shape(0) < 1 || a.shape(1) < 1) bad_argument(std::string(what) + " is empty");
  auto c = py::array_t<uint8_t, py::array::c_style>::ensure(a);
  keep = c;
  return cv::Mat(static_cast<int>(c.shape(0)), static_cast<int>(c.shape(1)), CV_8UC3,
                 const_cast<uint8_t*>(c.data()));
}

py::array_t<uint8_t> image_array(const cv::Mat& image) {
  py::array_t<uint8_t> out({image.rows, image.cols, 3});
  const size_t row = static_cast<size_t>(image.cols) * 3;
  for (int y = 0; y < image.rows; ++y) std::memcpy(out.mutable_data(y), image.ptr(y), row);
  return out;
}

py::array_t<float> tensor_array(const Tensor& t) {
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  py::array_t<float> out(shape);
  const Tensor c = t.contiguous();
  std::memcpy(out.mutable_data(), c.data<float>(), c.nbytes());
  return out;
}

// precision="auto": the cached auto model of the checkpoint (made once, on `calibrate`).
std::string auto_model(const std::string& checkpoint, const std::string& weights,
                       pipeline::AutoModelOptions options) {
  options.weights = checkpoint_entry(weights);
  const auto log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  return pipeline::cached_auto_model(checkpoint, options, log).path.string();
}

// The keyword arguments of precision="auto" (ValueError for a malformed budget).
pipeline::AutoModelOptions auto_options(double max_drift, double max_drift_p99,
                                        const std::vector<std::string>& calibrate,
                                        const std::string& calibration_detector) {
  pipeline::AutoModelOptions o;
  o.budget = {max_drift, max_drift_p99};
  o.budget.check();
  o.calibration.paths = calibrate;
  o.calibration.detector = calibration_detector;
  return o;
}

class LandmarkDetector {
 public:
  LandmarkDetector(const std::string& model_path, const std::string& device,
                   const std::vector<int>& /*device_ids: CUDA only in OpenFace*/,
                   const py::object& threads, const std::string& backend,
                   const std::string& weights, const std::string& precision,
                   const pipeline::AutoModelOptions& auto_options) {
    check_device(device);
    const bool is_auto = precision == pipeline::kAutoPrecision;
    const EngineOptions options =
        engine_options(threads, backend, weights, is_auto ? kModelPrecision : precision);
    py::gil_scoped_release release;
    engine_ =
        Engine::load(is_auto ? auto_model(model_path, weights, auto_options) : model_path, options);
  }

  // One (P, 2) float32 array per row of `dets` scoring >= confidence_threshold, in order.
  py::list detect_landmarks(const py::object& image, const py::object& dets_in,
                            double confidence_threshold) {
    py::object keep;
    const cv::Mat img = to_image(image, keep, "image");
    const std::vector<Box> boxes = kept_boxes(dets_in, confidence_threshold, img);
    std::vector<vision::FaceLandmarks> faces;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mutex_);
      faces = vision::detect_landmarks(*engine_, img, boxes);
    }
    py::list out;
    for (const vision::FaceLandmarks& f : faces) {
      py::array_t<float> pts({static_cast<py::ssize_t>(f.points.size()), py::ssize_t{2}});
      float* p = pts.mutable_data();
      for (const Point& q : f.points) {
        *p++ = static_cast<float>(q.x);
        *p++ = static_cast<float>(q.y);
      }
      out.append(pts);
    }
    return out;
  }

  // Raw network: float32 [N, 3, S, S] -> landmarks [N, P, 2] in the net's coordinates (STAR:
  // [-1, 1]), and the final heat maps when asked (STAR: the last fusion maps [N, P, 64, 64]).
  py::object infer(const py::array& input, bool heatmaps) {
    if (!input.dtype().is(py::dtype::of<float>())) {
      throw Error(ErrorCode::kBadDtype, "input must be float32 [N, 3, " +
                                            std::to_string(engine_->net().input_size) + ", " +
                                            std::to_string(engine_->net().input_size) + "], got " +
                                            dtype_text(input));
    }
    auto c = py::array_t<float, py::array::c_style>::ensure(input);
    Tensor t(DType::kFloat32, Shape(c.shape(), c.shape() + c.ndim()));
    std::memcpy(t.data<float>(), c.data(), t.nbytes());
    std::vector<std::string> wanted{"landmarks"};
    if (heatmaps) wanted.push_back(engine_->net().heatmaps_output());
    TensorMap out;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mutex_);
      out = engine_->run(t, wanted);
    }
    if (!heatmaps) return tensor_array(out.at("landmarks"));
    return py::make_tuple(tensor_array(out.at("landmarks")),
                          tensor_array(out.at(engine_->net().heatmaps)));
  }

  const Engine& engine() const { return *engine_; }

 private:
  // Checks every kept row first, so a bad box names its row of `dets` and runs nothing.
  static std::vector<Box> kept_boxes(const py::object& dets_in, double threshold,
                                     const cv::Mat& img) {
    if (!py::isinstance<py::array>(dets_in) && !py::isinstance<py::sequence>(dets_in)) {
      bad_argument("dets must be an (N, >=5) array [x1, y1, x2, y2, score, ...]");
    }
    const py::array raw = py::array::ensure(dets_in);
    if (!raw || raw.dtype().kind() == 'O' || raw.dtype().kind() == 'U') {
      bad_argument("dets must be a numeric (N, >=5) array [x1, y1, x2, y2, score, ...]");
    }
    if (raw.ndim() != 2 || raw.shape(1) < 5) {
      bad_argument("dets must be (N, >=5) [x1, y1, x2, y2, score, ...], got " + shape_text(raw));
    }
    auto dets = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(raw);
    std::vector<Box> boxes;
    const py::ssize_t cols = dets.shape(1);
    for (py::ssize_t r = 0; r < dets.shape(0); ++r) {
      const double* d = dets.data() + r * cols;
      if (d[4] < threshold) continue;  // OpenFace's test, so a NaN score is kept as there
      const Box box{d[0], d[1], d[2], d[3]};
      truncate_and_check(box, img.cols, img.rows, static_cast<int>(r));
      boxes.push_back(box);
    }
    return boxes;
  }

  std::unique_ptr<Engine> engine_;
  std::mutex mutex_;  // an Engine runs one batch at a time
};

class FaceDetector {
 public:
  FaceDetector(const std::string& model_path, const std::string& device,
               double confidence_threshold, double nms_threshold, double vis_threshold,
               const py::object& threads, const std::string& backend, const std::string& precision)
      : confidence_(confidence_threshold), vis_(vis_threshold) {
    check_device(device);
    // The detector's list is OpenFace's: score > 0.02 after NMS(0.4). A higher score
    // threshold is a filter of that list (greedy NMS never lets a lower score suppress a
    // higher one); a lower one, or another NMS overlap, would need candidates it never keeps.
    if (!(confidence_threshold >= 0.02)) {
      bad_argument("confidence_threshold must be >= 0.02 (RetinaFace's candidate floor), got " +
                   std::to_string(confidence_threshold));
    }
    if (nms_threshold != 0.4) {
      bad_argument("nms_threshold: only OpenFace's 0.4 is supported, got " +
                   std::to_string(nms_threshold));
    }
    const EngineOptions options = engine_options(threads, backend, "net", precision);
    py::gil_scoped_release release;
    detector_ = Detector::load(model_path, options);
  }

  // (dets (N, 15) float32, img): OpenFace's detect_faces, also on arrays.
  py::tuple detect_faces(const py::object& image, double resize) {
    check_resize(resize);
    py::object keep;
    const cv::Mat img = to_image(image, keep, "image");
    std::vector<retinaface::Detection> found;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mutex_);
      found = vision::detect_faces(*detector_, img, resize);
    }
    std::vector<retinaface::Detection> kept;
    for (const auto& d : found) {
      if (d.score > confidence_) kept.push_back(d);
    }
    return py::make_tuple(rows(kept), image_array(img));
  }

  // The rows of detect_faces(image)[0] with score >= vis_threshold.
  py::array_t<float> detect(const py::object& image) {
    py::array_t<float> all = detect_faces(image, 1.0)[0].cast<py::array_t<float>>();
    py::ssize_t n = 0;
    while (n < all.shape(0) && all.at(n, 4) >= vis_) ++n;  // rows are in descending score
    py::array_t<float> out({n, py::ssize_t{15}});
    if (n) std::memcpy(out.mutable_data(), all.data(), static_cast<size_t>(n) * 15 * sizeof(float));
    return out;
  }

  // OpenFace's preprocess_image: (network input [1, 3, H, W] float32, img_raw).
  py::tuple preprocess_image(const py::object& image, double resize) {
    check_resize(resize);
    py::object keep;
    const cv::Mat img = to_image(image, keep, "image");
    Tensor t;
    {
      py::gil_scoped_release release;
      t = vision::detector_input(img, resize);
    }
    return py::make_tuple(tensor_array(t), image_array(img));
  }

  // OpenFace's get_face: (crop of dets[0], dets), or (None, None) when there is no face or
  // dets[0] scores below 0.5.
  py::tuple get_face(const py::object& image, double resize) {
    py::tuple r = detect_faces(image, resize);
    auto dets = r[0].cast<py::array_t<float>>();
    if (dets.shape(0) == 0 || dets.at(0, 4) < 0.5f) return py::make_tuple(py::none(), py::none());
    py::object img = r[1];
    auto to_int = [](float v) { return py::int_(static_cast<long>(v)); };  // astype(int)
    py::object crop =
        img[py::make_tuple(py::slice(to_int(dets.at(0, 1)), to_int(dets.at(0, 3)), py::none()),
                           py::slice(to_int(dets.at(0, 0)), to_int(dets.at(0, 2)), py::none()))];
    return py::make_tuple(crop, dets);
  }

 private:
  static void check_resize(double resize) {
    if (!(resize > 0.0) || !std::isfinite(resize)) {
      bad_argument("resize must be a positive finite number, got " + std::to_string(resize));
    }
  }

  static py::array_t<float> rows(const std::vector<retinaface::Detection>& found) {
    py::array_t<float> out({static_cast<py::ssize_t>(found.size()), py::ssize_t{15}});
    float* p = out.mutable_data();
    for (const auto& d : found) {
      for (float v : {d.x1, d.y1, d.x2, d.y2, d.score}) *p++ = v;
      for (float v : d.points) *p++ = v;
    }
    return out;
  }

  std::unique_ptr<Detector> detector_;
  double confidence_;
  double vis_;
  std::mutex mutex_;
};

void translate(const Error& e) {
  switch (e.code()) {
    case ErrorCode::kIo:
      PyErr_SetString(PyExc_FileNotFoundError, e.what());
      return;
    case ErrorCode::kInternal:
      PyErr_SetString(PyExc_RuntimeError, e.what());
      return;
    default:  // bad arguments, inputs, dtypes, shapes, and unusable model files
      PyErr_SetString(PyExc_ValueError, e.what());
  }
}

}  // namespace

}  // namespace starface::python

using starface::python::FaceDetector;
using starface::python::LandmarkDetector;

PYBIND11_MODULE(_starface, m) {
  m.doc() = "starface: STAR facial landmarks and RetinaFace, natively (OpenFace 3.0's API)";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const starface::Error& e) {
      starface::python::translate(e);
    }
  });

  m.def("threading_summary", &starface::threading_summary,
        "The threading runtime, this thread's thread count and the waiting policy in effect");

  py::class_<LandmarkDetector>(m, "LandmarkDetector")
      .def(py::init([](const std::string& model_path, const std::string& device,
                       const std::vector<int>& device_ids, const py::object& threads,
                       const std::string& backend, const std::string& weights,
                       const std::string& precision, double max_drift, double max_drift_p99,
                       const std::vector<std::string>& calibrate,
                       const std::string& calibration_detector) {
             return std::make_unique<LandmarkDetector>(
                 model_path, device, device_ids, threads, backend, weights, precision,
                 starface::python::auto_options(max_drift, max_drift_p99, calibrate,
                                                calibration_detector));
           }),
           py::arg("model_path"), py::arg("device") = "cpu",
           py::arg("device_ids") = std::vector<int>{-1}, py::arg("threads") = py::none(),
           py::arg("backend") = "onednn", py::arg("weights") = "net",
           py::arg("precision") = starface::kModelPrecision,
           py::arg("max_drift") = starface::eval::DriftBudget{}.mean_px,
           py::arg("max_drift_p99") = starface::eval::DriftBudget{}.p99_px,
           py::arg("calibrate") = std::vector<std::string>{}, py::arg("calibration_detector") = "")
      .def("detect_landmarks", &LandmarkDetector::detect_landmarks, py::arg("image"),
           py::arg("dets"), py::arg("confidence_threshold") = 0.5)
      .def("infer", &LandmarkDetector::infer, py::arg("tensor"), py::arg("heatmaps") = false)
      .def_property_readonly("points",
                             [](const LandmarkDetector& d) { return d.engine().net().points; })
      .def_property_readonly("backend_info",
                             [](const LandmarkDetector& d) { return d.engine().backend_info(); })
      .def_property_readonly("model_path",
                             [](const LandmarkDetector& d) { return d.engine().path(); })
      .def_property_readonly("precision", [](const LandmarkDetector& d) {
        return starface::graph::precision_name(d.engine().precision());
      });

  py::class_<FaceDetector>(m, "FaceDetector")
      .def(py::init<const std::string&, const std::string&, double, double, double,
                    const py::object&, const std::string&, const std::string&>(),
           py::arg("model_path"), py::arg("device") = "cpu", py::arg("confidence_threshold") = 0.02,
           py::arg("nms_threshold") = 0.4, py::arg("vis_threshold") = 0.5,
           py::arg("threads") = py::none(), py::arg("backend") = "onednn",
           py::arg("precision") = "fp32")
      .def("detect_faces", &FaceDetector::detect_faces, py::arg("image"), py::arg("resize") = 1.0)
      .def("detect", &FaceDetector::detect, py::arg("image"))
      .def("get_face", &FaceDetector::get_face, py::arg("image"), py::arg("resize") = 1.0)
      .def("preprocess_image", &FaceDetector::preprocess_image, py::arg("image"),
           py::arg("resize") = 1.0);
}
