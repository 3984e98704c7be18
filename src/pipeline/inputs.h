// What `starface run` processes: paths (video files, image files, folders) and list files
// expanded into inputs, each named for its outputs, then split into shards.
#pragma once

#include <string>
#include <vector>

namespace starface::pipeline {

struct Input {
  enum class Kind {
    kVideo,   // one video file
    kImages,  // image files in name order, one sequence (a folder, or a single image)
    kBroken,  // found unusable while expanding (missing, unreadable folder, ...): `error` says why
  };
  Kind kind = Kind::kVideo;
  std::string path;                // as the user gave it (the folder for a folder of images)
  std::vector<std::string> files;  // kImages: the frames, in order
  std::string name;                // output base name: unique among all inputs
  std::string error;               // kBroken only
};

bool is_image_file(const std::string& path);
bool is_video_file(const std::string& path);

// Reads a list file: one path per line; blank lines and lines starting with '#' are
// skipped, surrounding whitespace trimmed, relative paths taken from the list's folder.
// An unreadable list is kIo (the whole run cannot know its inputs).
std::vector<std::string> read_list_file(const std::string& list_path);

// Expands paths in order: a video file is one input; an image file is a one-frame sequence;
// a folder gives one sequence of its images (sorted by name) plus one input per video in
// it (not recursive); anything else (missing, unreadable, a folder with nothing usable, a
// file that is neither) becomes a kBroken input, so it is reported where it would have run.
// A file with an unknown extension is tried as a video. Names are the file stem or folder
// name, made unique with _2, _3, ... in input order so every shard agrees.
std::vector<Input> expand_inputs(const std::vector<std::string>& paths);

struct Shard {
  int index = 0;  // 0-based
  int count = 1;
};

// "i/n" with 0 <= i < n (kBadArgument naming the text otherwise).
Shard parse_shard(const std::string& text);

// Every count-th input starting at index: shard i/n of a Slurm array of n tasks.
std::vector<Input> select_shard(const std::vector<Input>& inputs, const Shard& shard);

}  // namespace starface::pipeline
