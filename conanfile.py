# vmem's Conan 2 recipe, in the shape of conan-center-index. `conan create .` builds the library,
# packages it and builds and runs test_package/ against it.
import os
import re

from conan import ConanFile
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load, rmdir

required_conan_version = ">=2.0"


class VmemConan(ConanFile):
    name = "vmem"
    description = ("One virtual-memory interface for Windows and POSIX: reserve, commit, "
                   "decommit, protect and release pages")
    license = "BSL-1.0"
    topics = ("virtual-memory", "mmap", "virtualalloc", "allocator", "page")
    package_type = "library"
    settings = "os", "arch", "compiler", "build_type"
    options = {"shared": [True, False], "fPIC": [True, False]}
    # vmem needs Boost's headers only (Boost.Config); nothing of Boost is linked.
    default_options = {"shared": False, "fPIC": True, "boost/*:header_only": True}
    exports_sources = "CMakeLists.txt", "LICENSE", "cmake/*", "include/*", "src/*"

    def set_version(self):
        # The version is set once, in CMakeLists.txt's project().
        text = load(self, os.path.join(self.recipe_folder, "CMakeLists.txt"))
        self.version = re.search(r"project\(vmem\s+VERSION\s+([0-9.]+)", text).group(1)

    def config_options(self):
        if self.settings.os == "Windows":
            del self.options.fPIC

    def configure(self):
        if self.options.shared:
            self.options.rm_safe("fPIC")

    def layout(self):
        cmake_layout(self)

    def requirements(self):
        # The public headers include <boost/config.hpp>, so consumers need Boost's headers too.
        self.requires("boost/[>=1.66 <2]", transitive_headers=True)

    def validate(self):
        check_min_cppstd(self, 17)

    def generate(self):
        tc = CMakeToolchain(self)
        tc.cache_variables["VMEM_BUILD_TESTS"] = False
        tc.cache_variables["VMEM_BUILD_EXAMPLES"] = False
        tc.cache_variables["VMEM_BUILD_TOOLS"] = False  # vmem-info: tools/ is not exported
        tc.cache_variables["VMEM_INSTALL"] = True
        tc.generate()
        CMakeDeps(self).generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        cmake = CMake(self)
        cmake.install()
        # Conan's generators describe the package; vmem's own CMake and pkg-config files would
        # compete with them.
        rmdir(self, os.path.join(self.package_folder, "lib", "cmake"))
        rmdir(self, os.path.join(self.package_folder, "lib", "pkgconfig"))
        rmdir(self, os.path.join(self.package_folder, "share"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "vmem")
        self.cpp_info.set_property("cmake_target_name", "vmem::vmem")
        self.cpp_info.set_property("pkg_config_name", "vmem")
        self.cpp_info.libs = ["vmem"]
        if self.options.shared:
            self.cpp_info.defines = ["VMEM_DYN_LINK"]
        # POSIX: the registry's lock is a pthread rwlock (libpthread before glibc 2.34, and on the
        # BSDs). Windows needs nothing: vmem's locks are SRWLOCKs from kernel32.
        if self.settings.os in ("Linux", "FreeBSD", "NetBSD", "OpenBSD"):
            self.cpp_info.system_libs = ["pthread"]
